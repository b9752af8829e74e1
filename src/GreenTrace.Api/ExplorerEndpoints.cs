using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GreenTrace.Api;

/// <summary>
/// The web explorer: static HTML, CSS and ES modules embedded in this assembly (so `dotnet run` and the built dll
/// serve the same bytes, with no files beside the program), at `/` and under `/explorer/`. Every answer carries a
/// strict Content-Security-Policy: scripts and connections only from this origin, no inline script or style.
/// </summary>
internal static class ExplorerEndpoints
{
    public const string ResourcePrefix = "explorer/";

    /// <summary>
    /// Only this origin's files run and only this origin is fetched: the verification code a user runs is the code
    /// served here, and nothing on the page can send what it shows elsewhere.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".json"] = "application/json",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html")).ExcludeFromDescription();
        app.MapGet("/explorer/{**path}", (HttpContext http, string path) => Serve(http, path)).ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext http, string path)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (!Assets.Value.TryGetValue(path, out var asset))
            return ApiHost.Problem(StatusCodes.Status404NotFound, "not-found", $"the explorer has no file '{path}'");
        // Revalidated every time, answered 304 when unchanged: a new build's code is never mixed with cached old modules.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
            return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(ExplorerEndpoints).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            var path = name.Replace('\\', '/');
            if (!path.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                continue;
            var relative = path[ResourcePrefix.Length..];
            if (!ContentTypes.TryGetValue(Path.GetExtension(relative), out var type))
                continue;
            using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"resource {name} vanished");
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            assets[relative] = new Asset(bytes, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..32]}\"");
        }
        if (!assets.ContainsKey("index.html"))
            throw new InvalidOperationException($"the explorer's index.html is not embedded in {assembly.GetName().Name}");
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
