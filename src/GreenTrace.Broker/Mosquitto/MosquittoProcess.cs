using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Text;

namespace GreenTrace.Broker.Mosquitto;

/// <summary>
/// A Mosquitto broker running as a child process (not daemonised) from a <see cref="MosquittoDirectory"/>,
/// stopped by its PID. <see cref="RestartAsync"/> starts it again on the same configuration and
/// persistence, so what a graceful stop saved comes back.
/// </summary>
public sealed class MosquittoProcess : IAsyncDisposable
{
    /// <summary>Where Debian installs the broker; /usr/sbin is often not on a non-root PATH.</summary>
    public const string DebianPath = "/usr/sbin/mosquitto";

    /// <summary>A safety net against a broker that never comes up, not an expectation of how long it takes.</summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful stop (which saves the persistence file) may take before the process is killed.</summary>
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(30);

    private const int SigTerm = 15;
    private const int OutputLinesKept = 50;

    private readonly Queue<string> _output = new();
    private readonly Lock _outputGate = new();
    private Process? _process;

    private MosquittoProcess(MosquittoDirectory directory, string executable, IReadOnlyList<MosquittoListener> listeners)
    {
        Directory = directory;
        Executable = executable;
        Listeners = listeners;
    }

    public MosquittoDirectory Directory { get; }

    public string Executable { get; }

    public IReadOnlyList<MosquittoListener> Listeners { get; }

    public string Host => MosquittoConfig.BindAddress;

    /// <summary>The first TLS listener's port.</summary>
    public int TlsPort => Listeners.FirstOrDefault(l => l.Tls)?.Port ?? throw new InvalidOperationException("the configuration has no TLS listener");

    /// <summary>The first unencrypted listener's port, or null.</summary>
    public int? PlainPort => Listeners.FirstOrDefault(l => !l.Tls)?.Port;

    /// <summary>The running broker's process id.</summary>
    /// <exception cref="InvalidOperationException">The broker is stopped.</exception>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("mosquitto is not running");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The broker on PATH, else Debian's /usr/sbin/mosquitto.</summary>
    /// <exception cref="FileNotFoundException">Mosquitto is not installed.</exception>
    public static string FindExecutable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "mosquitto");
            if (File.Exists(candidate))
                return candidate;
        }
        if (File.Exists(DebianPath))
            return DebianPath;
        throw new FileNotFoundException("mosquitto is not installed (not on PATH, not at /usr/sbin/mosquitto): run scripts/install-test-deps", "mosquitto");
    }

    /// <summary>Starts Mosquitto on the directory's configuration and returns once every listener accepts connections.</summary>
    /// <exception cref="FileNotFoundException">Mosquitto is not installed, or the directory has no configuration.</exception>
    /// <exception cref="MosquittoException">Mosquitto exited, or did not listen within <paramref name="startTimeout"/>; the message carries its last log lines.</exception>
    public static async Task<MosquittoProcess> StartAsync(MosquittoDirectory directory, TimeSpan? startTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var opened = MosquittoDirectory.Open(directory.Path);
        var broker = new MosquittoProcess(opened, FindExecutable(), opened.ReadListeners());
        await broker.StartProcessAsync(startTimeout ?? DefaultStartTimeout, cancellationToken).ConfigureAwait(false);
        return broker;
    }

    /// <summary>
    /// SIGTERM, which makes Mosquitto save its persistence file and exit; SIGKILL if it has not
    /// exited after <paramref name="timeout"/>. Does nothing if it is not running.
    /// </summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        var process = _process;
        if (process is null)
            return;
        try
        {
            if (!process.HasExited && SendSignal(process.Id, SigTerm) != 0 && !process.HasExited)
                throw new MosquittoException($"could not signal mosquitto (pid {process.Id}): errno {Marshal.GetLastPInvokeError()}");
            using var wait = new CancellationTokenSource(timeout ?? DefaultStopTimeout);
            try
            {
                await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>SIGKILL: a crash. Mosquitto saves nothing; a restart finds the last autosave.</summary>
    public async Task KillAsync()
    {
        var process = _process;
        if (process is null)
            return;
        try
        {
            if (!process.HasExited)
                process.Kill();
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Stops the broker gracefully (if running) and starts it again on the same configuration and persistence.</summary>
    public async Task RestartAsync(TimeSpan? startTimeout = null, CancellationToken cancellationToken = default)
    {
        await StopAsync().ConfigureAwait(false);
        await StartProcessAsync(startTimeout ?? DefaultStartTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until the broker exits by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        var process = _process ?? throw new InvalidOperationException("mosquitto is not running");
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return process.ExitCode;
    }

    /// <summary>The last lines of mosquitto.log and of what the process wrote to stdout/stderr (errors before the log opens go there).</summary>
    public string Diagnostics(int lines = 20)
    {
        var text = new StringBuilder();
        string[] output;
        lock (_outputGate)
            output = [.. _output.TakeLast(lines)];
        if (output.Length > 0)
            text.Append("mosquitto's output:\n").AppendJoin('\n', output).Append('\n');
        var log = LogTail(Directory.LogFile, lines);
        text.Append(log.Count > 0 ? $"last lines of {Directory.LogFile}:\n{string.Join('\n', log)}\n" : $"{Directory.LogFile} is empty or missing\n");
        return text.ToString();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>The last <paramref name="lines"/> lines of a file that may still be being written.</summary>
    public static IReadOnlyList<string> LogTail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int window = 64 * 1024;
            stream.Seek(Math.Max(0, stream.Length - window), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return [.. reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines)];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private async Task StartProcessAsync(TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        if (_process is not null)
            throw new InvalidOperationException($"mosquitto is already running (pid {_process.Id})");
        // Readiness is the "running" line Mosquitto logs once its listeners are open; looking only
        // after this offset ignores earlier runs, and a port answered by some other process does not count.
        var logOffset = File.Exists(Directory.LogFile) ? new FileInfo(Directory.LogFile).Length : 0;
        lock (_outputGate)
            _output.Clear();
        var info = new ProcessStartInfo(Executable)
        {
            ArgumentList = { "-c", Directory.ConfigFile },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory.Path,
        };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        try
        {
            await WaitUntilListeningAsync(process, logOffset, startTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await KillAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WaitUntilListeningAsync(Process process, long logOffset, TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false); // flushes the redirected output
                throw new MosquittoException($"mosquitto exited with code {process.ExitCode} before it listened on {DescribeListeners()}.\n{Diagnostics()}");
            }
            if (LoggedRunning(logOffset) && await AllListenersAcceptAsync(cancellationToken).ConfigureAwait(false) && !process.HasExited)
                return;
            if (clock.Elapsed > startTimeout)
                throw new MosquittoException($"mosquitto (pid {process.Id}) did not listen on {DescribeListeners()} within {startTimeout.TotalSeconds:0}s.\n{Diagnostics()}");
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool LoggedRunning(long offset)
    {
        try
        {
            using var stream = new FileStream(Directory.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= offset)
                return false;
            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (line.Contains("mosquitto version ", StringComparison.Ordinal) && line.EndsWith(" running", StringComparison.Ordinal))
                    return true;
            }
            return false;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    private async Task<bool> AllListenersAcceptAsync(CancellationToken cancellationToken)
    {
        foreach (var listener in Listeners)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, listener.Port), cancellationToken).ConfigureAwait(false);
                if (listener.Tls)
                {
                    // A finished handshake rather than a bare connect: Mosquitto logs an abandoned
                    // handshake as an OpenSSL error, which would mislead whoever reads the log. Any
                    // certificate will do: this asks whether the listener answers, not whether to trust it.
                    await using var tls = new SslStream(new NetworkStream(probe, ownsSocket: false), false, (_, _, _, _) => true);
                    await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cancellationToken).ConfigureAwait(false);
                    await tls.ShutdownAsync().ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or AuthenticationException)
            {
                return false;
            }
        }
        return true;
    }

    private string DescribeListeners() => string.Join(", ", Listeners.Select(l => $"{Host}:{l.Port}{(l.Tls ? " (TLS)" : "")}"));

    private void Remember(string? line)
    {
        if (line is null)
            return;
        lock (_outputGate)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLinesKept)
                _output.Dequeue();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

/// <summary>Mosquitto could not be started or stopped; the message says why, with its last log lines.</summary>
public sealed class MosquittoException : Exception
{
    public MosquittoException()
    {
    }

    public MosquittoException(string message)
        : base(message)
    {
    }

    public MosquittoException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
