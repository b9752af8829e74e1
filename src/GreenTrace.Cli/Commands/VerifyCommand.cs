using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace verify BUNDLE --trust FILE</c>: the buyer's check of a reading bundle or a certificate bundle. The
/// bundle may come from anywhere, the API included; the trust never does: it is a local file the buyer got from
/// the consortium, because a server that could hand out its own keys could vouch for anything.
/// </summary>
public static class VerifyCommand
{
    public static Command Create(CliConsole console)
    {
        var bundleArg = new Argument<string>("bundle")
        {
            Description = "The bundle (JSON, either format): a file, - for stdin, or an http(s) URL such as http://127.0.0.1:5080/api/certificates/ID/bundle",
        };
        var trustOpt = new Option<FileInfo>("--trust")
        {
            Description = "Trusted membership (trust.json: ledger node keys, quorum, issuers and their zones). Always a local file, never fetched: the server is not trusted",
            Required = true,
        };
        var jsonOpt = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("verify",
            "Check a reading bundle or a certificate bundle against trusted public keys; the bundle may be fetched from the API, the trust is always local. Exit 0 valid, 1 invalid, 2 unusable input.")
        {
            bundleArg, trustOpt, jsonOpt,
        };
        command.SetAction((parse, ct) => RunAsync(console, parse.GetValue(bundleArg)!, parse.GetValue(trustOpt)!, parse.GetValue(jsonOpt), ct));
        return command;
    }

    public static async Task<int> RunAsync(CliConsole console, string bundleSource, FileInfo trustFile, bool json, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(bundleSource);
        ArgumentNullException.ThrowIfNull(trustFile);
        string trustText;
        try
        {
            trustText = await File.ReadAllTextAsync(trustFile.FullName, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Unusable(console, json, $"cannot read the trust file: {e.Message}");
        }

        TrustedKeys trust;
        try
        {
            trust = new TrustedKeys(Membership.FromJson(trustText));
        }
        catch (FormatException e)
        {
            return Unusable(console, json, $"trust file {trustFile.Name}: {e.Message}");
        }

        using (trust)
        {
            var text = await ReadBundleAsync(console, bundleSource, ct).ConfigureAwait(false);
            if (!text.IsOk)
                return Unusable(console, json, text.Error.Message);
            var parsed = Bundles.Parse(text.Value);
            if (!parsed.IsOk)
                return Unusable(console, json, $"bundle {bundleSource}: {parsed.Error}");

            IStepReport report;
            object machine;
            switch (parsed.Value)
            {
                case ParsedBundle.OfReading r:
                    var readingReport = ProofBundleVerifier.Verify(r.Bundle, trust);
                    (report, machine) = (readingReport, ToJson(readingReport));
                    if (!json)
                        PrintHuman(console.Out, readingReport);
                    break;
                case ParsedBundle.OfCertificate c:
                    var certificateReport = CertificateBundleVerifier.Verify(c.Bundle, trust);
                    (report, machine) = (certificateReport, ToJson(certificateReport));
                    if (!json)
                        PrintHuman(console.Out, certificateReport);
                    break;
                default:
                    throw new InvalidOperationException($"no verifier for {parsed.Value.Format}");
            }
            if (json)
                await console.Out.WriteLineAsync(JsonSerializer.Serialize(machine, JsonDefaults.Indented)).ConfigureAwait(false);
            return report.IsValid ? ExitCodes.Ok : ExitCodes.Invalid;
        }
    }

    /// <summary>The bundle's text from a URL (a refusal's ProblemDetails code is the message), stdin, or a file.</summary>
    private static async Task<Result<string>> ReadBundleAsync(CliConsole console, string source, CancellationToken ct)
    {
        if (ApiClient.TryParseUrl(source, out var url))
        {
            using var api = new ApiClient();
            var answer = await api.GetAsync(url, ct).ConfigureAwait(false);
            if (!answer.IsOk)
                return Result<string>.Fail(answer.Error);
            if (!answer.Value.IsSuccess)
            {
                var problem = answer.Value.Problem();
                return Result<string>.Fail(problem.Code, $"{url} answered {answer.Value.Status}: {problem.Code}: {problem.Message}");
            }
            return Result<string>.Ok(answer.Value.Body);
        }
        try
        {
            return Result<string>.Ok(source == "-"
                ? await console.In.ReadToEndAsync(ct).ConfigureAwait(false)
                : await File.ReadAllTextAsync(source, ct).ConfigureAwait(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Result<string>.Fail("bundle-unreadable", $"cannot read the bundle: {e.Message}");
        }
    }

    private static int Unusable(CliConsole console, bool json, string message)
    {
        if (json)
            console.Out.WriteLine(JsonSerializer.Serialize(new { valid = false, unusable = true, error = message }, JsonDefaults.Indented));
        console.Error.WriteLine($"error: {message}");
        return ExitCodes.Unusable;
    }

    private static void PrintSteps(TextWriter o, string what, IStepReport report)
    {
        o.WriteLine(report.IsValid ? $"{what}: VALID" : $"{what}: INVALID (failed at step '{report.FirstFailure!.Step}')");
        foreach (var s in report.Steps)
            o.WriteLine($"  {(s.Passed ? "ok  " : "FAIL")} {s.Step,-23} {s.Detail}");
    }

    private static void PrintHuman(TextWriter o, VerificationReport report)
    {
        PrintSteps(o, "Proof bundle", report);
        if (!report.IsValid)
            return;
        var r = report.Reading!;
        var d = report.Device!;
        o.WriteLine();
        o.WriteLine($"Reading      meter {r.MeterId}, #{r.Sequence}, {r.StartTime:yyyy-MM-dd HH:mm}–{r.EndTime:HH:mm} UTC, {Units.Energy(r.EnergyWh)} ({r.Quality})");
        PrintCertificate(o, report.Certificate!);
        o.WriteLine($"Meter        {d.MeterId}, {Units.Power(d.CapacityW)} {d.EnergySource}/{d.Technology}, {d.GridZone} ({d.Country})");
        PrintCheckpoint(o, report.Checkpoint!);
    }

    private static void PrintHuman(TextWriter o, CertificateVerificationReport report)
    {
        PrintSteps(o, "Certificate bundle", report);
        if (!report.IsValid)
            return;
        var d = report.Device!;
        o.WriteLine();
        PrintCertificate(o, report.Certificate!);
        o.WriteLine($"Meter        {d.MeterId}, {Units.Power(d.CapacityW)} {d.EnergySource}/{d.Technology}, {d.GridZone} ({d.Country})");
        o.WriteLine($"Readings     {report.Readings.Count}, together {Units.Energy(report.Readings.Aggregate(0UL, (s, r) => s + r.EnergyWh))}");
        foreach (var r in report.Readings)
            o.WriteLine($"             #{r.Sequence} {r.StartTime:HH:mm}–{r.EndTime:HH:mm} UTC {Units.Energy(r.EnergyWh)} ({r.Quality.ToString().ToLowerInvariant()})");

        var own = report.Ownership!;
        var wh = own.Holdings.ToDictionary(h => h.Id, h => h, StringComparer.Ordinal);
        o.WriteLine(own.Events.Count == 0 ? "Ownership    no transfer, split, claim or withdrawal up to the checkpoint" : "Ownership    every entry up to the checkpoint, in log order");
        foreach (var e in own.Events)
        {
            var consumed = string.Join(", ", e.Consumed.Select(id => $"{Short(id)} ({Units.Energy(wh[id].Wh)})"));
            var line = e.Kind switch
            {
                EntryKind.Transferred => $"transfer by {Short(e.Signer)}: {consumed} to {Short(wh[e.Made[0]].Owner)} as {Short(e.Made[0])}",
                EntryKind.Split => $"split by {Short(e.Signer)}: {consumed} into {string.Join(", ", e.Made.Select(id => $"{Units.Energy(wh[id].Wh)} for {Short(wh[id].Owner)} as {Short(id)}"))}",
                EntryKind.Claimed => Claimed(own.Claims.Single(c => c.Index == e.Index), consumed),
                _ => $"withdrawn by {e.Signer}: {(e.Consumed.Count == 0 ? "no live holding" : consumed)} ended",
            };
            o.WriteLine($"  #{e.Index,-9} {line}");
        }
        o.WriteLine($"Holdings     {Units.Energy(own.LiveWh)} live, {Units.Energy(own.ClaimedWh)} claimed, {Units.Energy(own.WithdrawnWh)} withdrawn");
        foreach (var h in own.Holdings)
            o.WriteLine($"  {h.Id} {h.Status.ToString().ToLowerInvariant(),-9} {Units.Energy(h.Wh),-10} {h.Owner}");
        PrintCheckpoint(o, report.Checkpoint!);
        o.WriteLine("             (\"live\" means not consumed up to this checkpoint; claims are final)");

        string Claimed(ProvenClaim c, string consumed) =>
            $"claim by {Short(c.Claimant)}: {consumed} for \"{c.Beneficiary}\", consumption {Time(c.PeriodStart)} to {Time(c.PeriodEnd)}";
    }

    private static void PrintCertificate(TextWriter o, GranularCertificate c)
    {
        o.WriteLine($"Certificate  {c.IdHex}");
        o.WriteLine($"             {Units.Energy(c.FaceValueWh)} {c.EnergyCarrier}, {c.EnergySource}/{c.Technology}, {c.GridZone} ({c.Country}), meter {c.MeterId}, {Time(c.PeriodStart)}–{DateTimeOffset.FromUnixTimeSeconds(c.PeriodEnd):HH:mm} UTC");
        o.WriteLine($"             issued by {c.IssuingBody}, {c.ReadingCount} readings, expires {DateTimeOffset.FromUnixTimeSeconds(c.ExpiresAt):yyyy-MM-dd}");
    }

    private static void PrintCheckpoint(TextWriter o, Checkpoint cp) =>
        o.WriteLine($"Checkpoint   {cp.Origin} size {cp.Size} root {Convert.ToBase64String(cp.RootHash)}");

    /// <summary>Ids are 64 hex digits (owner ids 70 characters): the first 12 tell them apart on a screen; the holdings list has them whole.</summary>
    private static string Short(string id) => id.StartsWith("owner:", StringComparison.Ordinal) ? id[..18] + "…" : id.Length > 16 ? id[..12] + "…" : id;

    private static string Time(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static object Steps(IStepReport report) => report.Steps.Select(s => new { step = s.Step, passed = s.Passed, detail = s.Detail });

    private static object? CheckpointJson(Checkpoint? cp) => cp is null ? null : new { origin = cp.Origin, size = cp.Size, root = Convert.ToBase64String(cp.RootHash) };

    private static object ToJson(VerificationReport report) => new
    {
        format = ProofBundle.CurrentFormat,
        valid = report.IsValid,
        failedStep = report.FirstFailure?.Step,
        steps = Steps(report),
        reading = report.Reading is { } r ? ReadingJson.From(r) : null,
        certificate = CertificateJson(report.Certificate),
        checkpoint = CheckpointJson(report.Checkpoint),
    };

    private static object ToJson(CertificateVerificationReport report) => new
    {
        format = CertificateBundle.CurrentFormat,
        valid = report.IsValid,
        failedStep = report.FirstFailure?.Step,
        steps = Steps(report),
        certificate = CertificateJson(report.Certificate),
        readings = report.Readings.Select(ReadingJson.From),
        ownership = report.Ownership is { } o ? new
        {
            liveWh = o.LiveWh,
            claimedWh = o.ClaimedWh,
            withdrawnWh = o.WithdrawnWh,
            withdrawn = o.Withdrawn,
            events = o.Events.Select(e => new { index = e.Index, kind = e.Kind.ToString(), entry = e.EntryId, signer = e.Signer, consumed = e.Consumed, made = e.Made }),
            holdings = o.Holdings.Select(h => new { id = h.Id, wh = h.Wh, owner = h.Owner, status = h.Status.ToString().ToLowerInvariant(), createdBy = h.CreatedBy, consumedBy = h.ConsumedBy }),
            claims = o.Claims.Select(c => new { beneficiary = c.Beneficiary, periodStart = c.PeriodStart, periodEnd = c.PeriodEnd, wh = c.Wh, claimant = c.Claimant, index = c.Index, holding = c.Holding }),
        } : null,
        checkpoint = CheckpointJson(report.Checkpoint),
    };

    private static object? CertificateJson(GranularCertificate? certificate) => certificate is not { } c ? null : new
    {
        id = c.IdHex,
        meter = c.MeterId,
        periodStart = c.PeriodStart,
        periodEnd = c.PeriodEnd,
        part = c.Part,
        faceValueWh = c.FaceValueWh,
        energyCarrier = c.EnergyCarrier,
        energySource = c.EnergySource,
        technology = c.Technology,
        gridZone = c.GridZone,
        country = c.Country,
        issuingBody = c.IssuingBody,
        issuedAt = c.IssuedAt,
        expiresAt = c.ExpiresAt,
        readingCount = c.ReadingCount,
        readingRoot = Hex.Encode(c.ReadingRoot),
    };
}
