using System.CommandLine;
using GreenTrace.Api;
using GreenTrace.Cli.Ledger;
using GreenTrace.Core;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace transfer|split|claim</c>: an owner signs an entry with their own key and submits it to the buyers'
/// API (POST /api/entries), which judges it with the ledger's rules. The same options and bytes as
/// <c>ledger transfer|split|claim</c>, without access to a store: all an owner needs is their key and the API's address.
/// </summary>
public static class OwnerCommands
{
    public static IEnumerable<Command> Create(CliConsole console) =>
    [
        Create(console, OwnerEntryKind.Transfer(), "Prints the entry id and log index, then the new holding's id."),
        Create(console, OwnerEntryKind.Split(), "Prints the entry id and log index, then the new holdings' ids in part order."),
        Create(console, OwnerEntryKind.Claim(), "Prints the entry id and log index."),
    ];

    private static Command Create(CliConsole console, OwnerEntryKind kind, string prints)
    {
        var (key, certificate) = OwnerEntryKind.SignerOptions("--owner-key");
        var holding = new Option<string?>("--holding")
        {
            Description = "Holding id (hex); default: your one live holding of the certificate, looked up on the API",
        };
        var api = new Option<string>("--api") { Description = "The buyers' API (`greentrace api`)", DefaultValueFactory = _ => ApiHost.DefaultUrl };
        var command = new Command(kind.Name,
            $"{kind.Description} Signed with your owner key and submitted to the API; exit 0 accepted, 1 refused (with the ledger's reason code), 2 unusable input or no answer. {prints}")
        {
            key, certificate, holding, api,
        };
        kind.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(console, parse, kind, parse.GetValue(key)!, parse.GetValue(certificate)!, parse.GetValue(holding), parse.GetValue(api)!, ct));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, ParseResult parse, OwnerEntryKind kind, FileInfo keyFile, string certificateText, string? holdingText, string apiText, CancellationToken ct)
    {
        if (!ApiClient.TryParseUrl(apiText, out var apiUrl))
            return LedgerCommand.Unusable(console, $"--api '{apiText}' is not an http(s) URL");
        using var api = new ApiClient();
        try
        {
            using var owner = LedgerFiles.LoadOwnerKey(keyFile.FullName);
            var certificateId = LedgerFiles.ParseId(certificateText, "certificate id");
            byte[] holdingId;
            if (holdingText is not null)
            {
                holdingId = LedgerFiles.ParseId(holdingText, "holding id");
            }
            else
            {
                var found = await FindHoldingAsync(console, api, apiUrl, certificateId, owner.ExportSubjectPublicKeyInfo(), ct).ConfigureAwait(false);
                if (found.Holding is null)
                    return found.ExitCode;
                holdingId = found.Holding;
            }
            var entry = kind.SignNow(parse, owner, certificateId, holdingId);

            var posted = await api.PostEntryAsync(apiUrl, entry, ct).ConfigureAwait(false);
            if (!posted.IsOk)
                return LedgerCommand.Unusable(console, posted.Error.Message);
            var answer = posted.Value;
            if (answer.Status >= 500)
                return LedgerCommand.Unusable(console, $"{apiUrl} failed ({answer.Status}): {answer.Problem()}");
            if (!answer.IsSuccess)
                return LedgerCommand.Refused(console, answer.Problem());
            var submitted = answer.Json<SubmittedView>();
            if (submitted is null)
                return LedgerCommand.Unusable(console, $"{apiUrl} accepted the entry but its answer is empty");
            console.Out.WriteLine($"entry {submitted.Id} at log index {submitted.Index}");
            foreach (var id in OwnerEntryKind.NewHoldings(entry))
                console.Out.WriteLine($"holding {id}");
            console.Error.WriteLine($"accepted: {submitted.Kind} as entry #{submitted.Index}; checkpoint size now {submitted.CheckpointSize}");
            return ExitCodes.Ok;
        }
        catch (LedgerFileException e)
        {
            return LedgerCommand.Unusable(console, e.Message);
        }
        catch (System.Text.Json.JsonException e)
        {
            return LedgerCommand.Unusable(console, $"{apiUrl} answered with JSON this cannot read: {e.Message}");
        }
    }

    /// <summary>
    /// The signer's one live holding of the certificate, from GET /api/certificates/{id}. None is a refusal
    /// (holding-unknown: there is nothing to spend); several need the owner to say which (unusable: name it).
    /// </summary>
    private static async Task<(byte[]? Holding, int ExitCode)> FindHoldingAsync(CliConsole console, ApiClient api, Uri apiUrl, byte[] certificateId, byte[] owner, CancellationToken ct)
    {
        var got = await api.GetAsync(new Uri(apiUrl, $"/api/certificates/{Hex.Encode(certificateId)}"), ct).ConfigureAwait(false);
        if (!got.IsOk)
            return (null, LedgerCommand.Unusable(console, got.Error.Message));
        if (got.Value.Status >= 500)
            return (null, LedgerCommand.Unusable(console, $"{apiUrl} failed ({got.Value.Status}): {got.Value.Problem()}"));
        if (!got.Value.IsSuccess)
            return (null, LedgerCommand.Refused(console, got.Value.Problem()));
        var detail = got.Value.Json<CertificateDetail>() ?? throw new System.Text.Json.JsonException("the certificate is empty");
        var ownerId = LedgerEntry.OwnerId(owner);
        var mine = detail.Holdings.Where(h => h.Status == nameof(HoldingStatus.Live) && h.Owner == ownerId).ToList();
        return mine.Count switch
        {
            0 => (null, LedgerCommand.Refused(console, new Rejection(LedgerReasons.HoldingUnknown, $"{ownerId} holds no live holding of certificate {Hex.Encode(certificateId)}"))),
            1 => (Hex.Decode(mine[0].Id), ExitCodes.Ok),
            _ => (null, LedgerCommand.Unusable(console,
                $"{ownerId} holds {mine.Count} live holdings of certificate {Hex.Encode(certificateId)}: name one with --holding ({string.Join(", ", mine.Select(h => $"{h.Id} {h.Wh} Wh"))})")),
        };
    }
}
