using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.TimeSeries;

/// <summary>One series as /api/v1/export returns it: metric name and labels, samples in time order.</summary>
public sealed record ExportedSeries(string Name, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<double> Values, IReadOnlyList<long> TimestampsMs)
{
    /// <summary>Name and labels in one stable string, for comparing sets of series.</summary>
    public string Key => $"{Name}{{{string.Join(',', Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))}}}";
}

/// <summary>
/// Debian's VictoriaMetrics (the InfluxDB 2.x stand-in: it takes InfluxDB.Client's writes unchanged)
/// run as a child process on a free port of 127.0.0.1 with its data in a temp directory, stopped
/// by its PID. The binary comes from the repository's .deps/ (scripts/install-test-deps unpacks it)
/// or GREENTRACE_VICTORIA_METRICS; without it, starting fails and says so: never a skip.
/// </summary>
public sealed class VictoriaMetricsFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "GREENTRACE_VICTORIA_METRICS";
    public const string BundledPath = ".deps/victoria-metrics/usr/bin/victoria-metrics";

    private const int SigTerm = 15;

    private readonly TempDirectory _temp = new();
    private readonly HttpClient _http = new() { Timeout = Wait.SafetyNet };
    private readonly Lock _outputGate = new();
    private readonly Queue<string> _output = new();
    private Process? _process;

    public string Executable { get; private set; } = "";

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string DataPath => _temp.File("data");

    public int Pid => _process?.Id ?? throw new InvalidOperationException("victoria-metrics is not running");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>A started server the caller disposes; for tests that stop and restart it.</summary>
    public static async Task<VictoriaMetricsFixture> StartAsync()
    {
        var fixture = new VictoriaMetricsFixture();
        try
        {
            await fixture.InitializeAsync();
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    public static string FindExecutable()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"{EnvironmentVariable}={configured} does not exist", configured);
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "GreenTrace.sln")))
                continue;
            var bundled = Path.Combine(dir.FullName, BundledPath);
            return File.Exists(bundled)
                ? bundled
                : throw new FileNotFoundException($"victoria-metrics is not unpacked at {bundled}: run scripts/install-test-deps (or scripts/victoria-metrics fetch), or set {EnvironmentVariable}", bundled);
        }
        throw new FileNotFoundException($"no GreenTrace.sln above {AppContext.BaseDirectory} to find {BundledPath} under: run scripts/install-test-deps, or set {EnvironmentVariable}");
    }

    public async ValueTask InitializeAsync()
    {
        Executable = FindExecutable();
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                await StartProcessAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Another process took the probed port before the server bound it: try another.
            }
        }
    }

    /// <summary>SIGTERM by PID, which makes it flush what it holds in memory to disk; SIGKILL if it lingers.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null)
            return;
        try
        {
            if (!process.HasExited && SendSignal(process.Id, SigTerm) != 0 && !process.HasExited)
                throw new InvalidOperationException($"could not signal victoria-metrics (pid {process.Id}): errno {Marshal.GetLastPInvokeError()}");
            using var wait = new CancellationTokenSource(Wait.SafetyNet);
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        finally
        {
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Starts it again on the same port and data directory.</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>Every series whose name matches <paramref name="nameRegex"/>, all time, after making pending writes searchable.</summary>
    public async Task<IReadOnlyList<ExportedSeries>> ExportAsync(string nameRegex)
    {
        var ct = TestContext.Current.CancellationToken;
        // Without this, points written in the last seconds are not yet visible to searches.
        using (var flush = await _http.GetAsync(new Uri($"{Url}/internal/force_flush"), ct))
            flush.EnsureSuccessStatusCode();
        using var content = new FormUrlEncodedContent([new("match[]", $"{{__name__=~\"{nameRegex}\"}}"), new("start", "0")]);
        using var response = await _http.PostAsync(new Uri($"{Url}/api/v1/export"), content, ct);
        response.EnsureSuccessStatusCode();
        var series = new List<ExportedSeries>();
        foreach (var line in (await response.Content.ReadAsStringAsync(ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string name = "";
            foreach (var label in doc.RootElement.GetProperty("metric").EnumerateObject())
            {
                if (label.Name == "__name__")
                    name = label.Value.GetString()!;
                else
                    labels[label.Name] = label.Value.GetString()!;
            }
            var values = doc.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
            var timestamps = doc.RootElement.GetProperty("timestamps").EnumerateArray().Select(v => v.GetInt64()).ToList();
            series.Add(new ExportedSeries(name, labels, values, timestamps));
        }
        return series;
    }

    public string Diagnostics()
    {
        lock (_outputGate)
            return $"victoria-metrics's last output:\n{string.Join('\n', _output)}";
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        _temp.Dispose();
    }

    private async Task StartProcessAsync()
    {
        if (_process is not null)
            throw new InvalidOperationException($"victoria-metrics is already running (pid {_process.Id})");
        var info = new ProcessStartInfo(Executable)
        {
            ArgumentList =
            {
                $"-httpListenAddr=127.0.0.1:{Port}",
                $"-storageDataPath={DataPath}",
                // Keep points of any age; a point written twice is one sample, as InfluxDB overwrites
                // it; and make what was just written readable at once.
                "-retentionPeriod=100y",
                "-dedup.minScrapeInterval=1ms",
                "-search.latencyOffset=0s",
            },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _temp.Path,
        };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(CancellationToken.None);
                _process = null;
                process.Dispose();
                throw new InvalidOperationException($"victoria-metrics exited before it answered on {Url}.\n{Diagnostics()}");
            }
            if (await HealthyAsync())
                return;
            if (clock.Elapsed > Wait.SafetyNet)
            {
                await StopAsync();
                Assert.Fail($"victoria-metrics did not answer /health on {Url} within {Wait.SafetyNet.TotalSeconds:0}s.\n{Diagnostics()}");
            }
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private async Task<bool> HealthyAsync()
    {
        try
        {
            using var response = await _http.GetAsync(new Uri($"{Url}/health"), TestContext.Current.CancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
            return;
        lock (_outputGate)
        {
            _output.Enqueue(line);
            while (_output.Count > 30)
                _output.Dequeue();
        }
    }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
