using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GreenTrace.Core;

namespace GreenTrace.Cli;

/// <summary>One answer of the API, whatever its status; <see cref="Problem"/> reads a refusal's ProblemDetails.</summary>
internal sealed record ApiAnswer(int Status, string Body)
{
    public bool IsSuccess => Status is >= 200 and <= 299;

    /// <summary>The refusal's stable <c>code</c> and its detail; a body that is no ProblemDetails still gives the status.</summary>
    public Rejection Problem()
    {
        string? code = null, detail = null;
        try
        {
            using var doc = JsonDocument.Parse(Body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                code = Text(doc.RootElement, "code");
                detail = Text(doc.RootElement, "detail") ?? Text(doc.RootElement, "title");
            }
        }
        catch (JsonException)
        {
        }
        var fallback = Body.Length > 200 ? Body[..200] + "…" : Body;
        return new Rejection(code ?? $"http-{Status}", detail ?? (fallback.Length > 0 ? fallback : $"HTTP {Status}"));
    }

    public T? Json<T>() => JsonSerializer.Deserialize<T>(Body, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>
/// The CLI's HTTP client for the buyers' API (docs/api.md): a deadline per exchange and a cap on what it reads, so a
/// slow or hostile server cannot hang a command or fill its memory. Failing to get an answer is a
/// <see cref="Rejection"/> with one of the codes below, never an exception.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    public const string Unreachable = "api-unreachable";
    public const string TimedOut = "api-timeout";
    public const string TooLarge = "response-too-large";

    /// <summary>Far above any bundle a certificate has (a few readings, a history of owner entries), far below harm.</summary>
    public const int MaxResponseBytes = 16 * 1024 * 1024;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http = new() { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

    /// <summary>An absolute http or https URL, or false (then it is no address of ours: a path, say).</summary>
    public static bool TryParseUrl(string text, out Uri url) =>
        Uri.TryCreate(text, UriKind.Absolute, out url!) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);

    public Task<Result<ApiAnswer>> GetAsync(Uri url, CancellationToken ct) => SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), ct);

    /// <summary>POST /api/entries with the raw signed entry as <c>application/cose</c>.</summary>
    public Task<Result<ApiAnswer>> PostEntryAsync(Uri api, byte[] entry, CancellationToken ct) => SendAsync(() =>
    {
        var content = new ByteArrayContent(entry);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
        return new HttpRequestMessage(HttpMethod.Post, new Uri(api, "/api/entries")) { Content = content };
    }, ct);

    public void Dispose() => _http.Dispose();

    private async Task<Result<ApiAnswer>> SendAsync(Func<HttpRequestMessage> build, CancellationToken ct)
    {
        using var request = build();
        var url = request.RequestUri;
        // One deadline for headers and body alike: HttpClient.Timeout would not cover reading a streamed body.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(Timeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (response.Content.Headers.ContentLength > MaxResponseBytes)
                return Result<ApiAnswer>.Fail(TooLarge, $"{url} answered with {response.Content.Headers.ContentLength} bytes, more than the {MaxResponseBytes} this reads");
            var stream = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var body = new MemoryStream();
                var buffer = new byte[81920];
                int read;
                while ((read = await stream.ReadAsync(buffer, deadline.Token).ConfigureAwait(false)) > 0)
                {
                    if (body.Length + read > MaxResponseBytes)
                        return Result<ApiAnswer>.Fail(TooLarge, $"{url} answered with more than the {MaxResponseBytes} bytes this reads");
                    body.Write(buffer, 0, read);
                }
                return Result<ApiAnswer>.Ok(new ApiAnswer((int)response.StatusCode, Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length)));
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Result<ApiAnswer>.Fail(TimedOut, $"no answer from {url} within {Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            return Result<ApiAnswer>.Fail(Unreachable, $"cannot reach {url}: {e.Message}");
        }
        catch (IOException e)
        {
            return Result<ApiAnswer>.Fail(Unreachable, $"the connection to {url} failed: {e.Message}");
        }
    }
}
