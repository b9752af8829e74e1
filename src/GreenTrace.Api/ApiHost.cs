using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GreenTrace.Api;

/// <summary>Builds the API application: options, the read model, OpenAPI and the endpoints.</summary>
public static class ApiHost
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Media types a signed entry may be posted as: the bytes are one COSE_Sign1 message either way.</summary>
    public static readonly string[] EntryMediaTypes = ["application/cose", "application/greentrace-entry+cbor"];

    /// <param name="streams">
    /// For an API in front of the replicated ledger: registers the <see cref="Streaming.IStreamClientFactory"/> submissions
    /// are produced with. The API then holds no node key; <see cref="ApiOptions.Store"/> is a node's store.
    /// </param>
    public static WebApplication Build(ApiOptions options, string[]? urls = null, string[]? args = null, Action<IServiceCollection>? streams = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if ((options.NodeKeyFiles.Count == 0) == (streams is null))
        {
            throw new InvalidOperationException(streams is null
                ? "give the API a node key (it runs an embedded node) or the entry stream of the replicated nodes"
                : "in front of the replicated nodes the API holds no node key: the nodes sign");
        }
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(urls is { Length: > 0 } ? urls : [DefaultUrl]);
        // The entry handler enforces MaxRequestBytes itself so that every 413 carries its code; Kestrel's own limit is a
        // backstop set above it, because a request that hits Kestrel's limit is cut off without the handler's answer.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = (2 * options.MaxRequestBytes) + (64 * 1024));
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(sp => LedgerReadModel.Open(sp.GetRequiredService<IOptions<ApiOptions>>()));
        if (streams is null)
        {
            builder.Services.AddSingleton<IEntrySubmitter, EmbeddedEntrySubmitter>();
        }
        else
        {
            streams(builder.Services);
            builder.Services.AddSingleton<IEntrySubmitter, StreamEntrySubmitter>();
        }
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        var app = builder.Build();
        // Open the store now: a bad spec or trust file should stop startup, not the first request.
        app.Services.GetRequiredService<LedgerReadModel>();
        app.MapOpenApi();
        ApiEndpoints.Map(app);
        MeterEndpoints.Map(app);
        BrowseEndpoints.Map(app);
        ExplorerEndpoints.Map(app);
        return app;
    }

    /// <summary>The HTTP status of a ledger refusal: malformed is the client's syntax, conflicts are state, the rest is semantics.</summary>
    public static int StatusOf(string code) => code switch
    {
        LedgerReasons.EntryMalformed => StatusCodes.Status400BadRequest,
        LedgerReasons.EntryDuplicate or LedgerReasons.HoldingSpent or LedgerReasons.HoldingClaimed
            or LedgerReasons.CertificateClaimed or LedgerReasons.CertificateWithdrawn => StatusCodes.Status409Conflict,
        LedgerReasons.CertificateUnknown or LedgerReasons.HoldingUnknown => StatusCodes.Status404NotFound,
        StreamEntrySubmitter.Timeout => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status422UnprocessableEntity,
    };

    internal static IResult Problem(int status, string code, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: code, extensions: new Dictionary<string, object?> { ["code"] = code });

    internal static IResult Problem(Rejection why, int? status = null) => Problem(status ?? StatusOf(why.Code), why.Code, why.Message);

    internal static bool IsEntryMediaType(string? contentType) =>
        contentType is not null && EntryMediaTypes.Any(t => contentType.Split(';')[0].Trim().Equals(t, StringComparison.OrdinalIgnoreCase));

    internal static string Base64(byte[] b) => Convert.ToBase64String(b);

    internal static EntryView View(StoredEntry e) => new(e.Index, Hex.Encode(e.EntryId), e.Kind.ToString(), e.Author, e.MeterId,
        e.CertificateId is null ? null : Hex.Encode(e.CertificateId), Convert.ToBase64String(e.Encoded));
}
