using System.CommandLine;
using System.Security.Cryptography;
using GreenTrace.Broker.Mosquitto;
using GreenTrace.FirmwareSim;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace broker mosquitto-config | mosquitto</c>: the real MQTT broker, Mosquitto 2.0, on
/// the project's own configuration (see docs/mosquitto.md).
/// </summary>
public static class BrokerCommand
{
    public static Command Create(CliConsole console)
    {
        var fleetOpt = new Option<FileInfo>("--fleet") { Description = "Fleet file (greentrace-fleet JSON): every meter gets a password and its own topic", Required = true };
        var outOpt = new Option<DirectoryInfo>("--out") { Description = "Directory to write mosquitto.conf, passwd, acl, certificates and gateways.json into", Required = true };
        var tlsPortOpt = new Option<int>("--tls-port") { Description = "TLS listener port on 127.0.0.1", DefaultValueFactory = _ => 8883 };
        var portOpt = new Option<int?>("--port") { Description = "Also an unencrypted listener on 127.0.0.1 (passwords and ACL still apply), for tools and benchmarks" };
        var gatewaysOpt = new Option<int>("--gateways") { Description = "Gateway credentials to create (gateway-1 … gateway-N)", DefaultValueFactory = _ => 1 };
        var config = new Command("mosquitto-config", "Generate a Mosquitto configuration for a fleet: per-meter passwords and ACL, gateway credentials, a test CA and TLS listener on 127.0.0.1. Exit 0 written, 2 unusable input.")
        {
            fleetOpt, outOpt, tlsPortOpt, portOpt, gatewaysOpt,
        };
        config.SetAction(parse => WriteConfig(console, parse.GetValue(fleetOpt)!, parse.GetValue(outOpt)!, parse.GetValue(tlsPortOpt), parse.GetValue(portOpt), parse.GetValue(gatewaysOpt)));

        var dirOpt = new Option<DirectoryInfo>("--config-dir") { Description = "Directory written by 'greentrace broker mosquitto-config'", Required = true };
        var run = new Command("mosquitto", "Run Mosquitto in the foreground on a generated configuration, printing its log, until Ctrl+C. Exit 0 stopped, 1 the broker failed, 2 unusable input.")
        {
            dirOpt,
        };
        run.SetAction((parse, ct) => RunAsync(console, parse.GetValue(dirOpt)!, ct));

        return new Command("broker", "The real MQTT broker (Mosquitto) on GreenTrace's configuration.") { config, run };
    }

    public static int WriteConfig(CliConsole console, FileInfo fleetFile, DirectoryInfo output, int tlsPort, int? plainPort, int gateways)
    {
        Fleet fleet;
        try
        {
            fleet = Fleet.Load(fleetFile.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            console.Error.WriteLine($"error: fleet {fleetFile.FullName}: {e.Message}");
            return ExitCodes.Unusable;
        }
        using (fleet)
        {
            MosquittoDirectory directory;
            MosquittoConfig config;
            try
            {
                config = new MosquittoConfigBuilder()
                    .WithTlsPort(tlsPort)
                    .WithPlainPort(plainPort)
                    .WithMeters(fleet.Meters.Select(m => new MqttCredential(m.Id, m.MqttPassword())))
                    .WithGateways(gateways)
                    .Build();
                directory = config.Write(output.FullName);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.Unusable;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                console.Error.WriteLine($"error: cannot write {output.FullName}: {e.Message}");
                return ExitCodes.Unusable;
            }
            console.Out.WriteLine($"Mosquitto configuration for {config.Meters.Count} meters and {config.Gateways.Count} gateway(s) in {directory.Path}");
            console.Out.WriteLine($"  TLS listener   {MosquittoConfig.BindAddress}:{config.TlsPort} (trust {directory.CaCertificate})");
            if (config.PlainPort is { } plain)
                console.Out.WriteLine($"  plain listener {MosquittoConfig.BindAddress}:{plain}");
            console.Out.WriteLine($"  gateway credentials (owner-only): {directory.GatewaysFile}");
            console.Out.WriteLine($"Run it with: greentrace broker mosquitto --config-dir {directory.Path}");
            return ExitCodes.Ok;
        }
    }

    public static async Task<int> RunAsync(CliConsole console, DirectoryInfo configDir, CancellationToken ct)
    {
        MosquittoDirectory directory;
        try
        {
            directory = MosquittoDirectory.Open(configDir.FullName);
            directory.ReadListeners();
            MosquittoProcess.FindExecutable();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }

        var log = new LogFollower(directory.LogFile);
        MosquittoProcess broker;
        try
        {
            broker = await MosquittoProcess.StartAsync(directory, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (MosquittoException e)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Invalid;
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }

        await using (broker.ConfigureAwait(false))
        {
            var listeners = string.Join(", ", broker.Listeners.Select(l => $"{broker.Host}:{l.Port}{(l.Tls ? " (TLS)" : "")}"));
            await console.Out.WriteLineAsync($"mosquitto (pid {broker.Pid}) listening on {listeners}; Ctrl+C stops it").ConfigureAwait(false);
            var exit = broker.WaitForExitAsync(CancellationToken.None);
            while (!exit.IsCompleted && !ct.IsCancellationRequested)
            {
                await log.CopyNewLinesAsync(console.Out).ConfigureAwait(false);
                // A cancelled delay ends the wait without throwing; the loop condition sees why.
                await Task.WhenAny(exit, Task.Delay(TimeSpan.FromMilliseconds(250), ct)).ConfigureAwait(false);
            }
            if (!exit.IsCompleted)
            {
                var pid = broker.Pid;
                await broker.StopAsync().ConfigureAwait(false);
                await log.CopyNewLinesAsync(console.Out).ConfigureAwait(false);
                await console.Out.WriteLineAsync($"mosquitto (pid {pid}) stopped").ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            await log.CopyNewLinesAsync(console.Out).ConfigureAwait(false);
            // Ctrl+C reaches the whole foreground process group, so Mosquitto may have stopped itself
            // (exit 0) before this process saw the signal: that is a clean stop too.
            var code = await exit.ConfigureAwait(false);
            if (code == 0)
            {
                await console.Out.WriteLineAsync("mosquitto stopped").ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            await console.Error.WriteLineAsync($"error: mosquitto exited with code {code}\n{broker.Diagnostics()}").ConfigureAwait(false);
            return ExitCodes.Invalid;
        }
    }

    /// <summary>Prints what Mosquitto appends to its log file, from where the file ended when this was created.</summary>
    private sealed class LogFollower(string path)
    {
        private long _offset = File.Exists(path) ? new FileInfo(path).Length : 0;

        public async Task CopyNewLinesAsync(TextWriter output)
        {
            if (!File.Exists(path))
                return;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length < _offset)
                _offset = 0; // rotated or truncated
            stream.Seek(_offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync().ConfigureAwait(false);
            // Only whole lines: Mosquitto may be halfway through writing the last one.
            var end = text.LastIndexOf('\n') + 1;
            if (end == 0)
                return;
            await output.WriteAsync(text[..end]).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
            _offset += System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(0, end));
        }
    }
}
