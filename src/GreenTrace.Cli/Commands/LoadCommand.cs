using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GreenTrace.Cli.Load;
using GreenTrace.FirmwareSim;
using GreenTrace.Streaming.Kafka;
using Microsoft.Extensions.Configuration;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace load</c>: the whole pipeline under a fixed load, measured from outside.</summary>
public static class LoadCommand
{
    public static Command Create(CliConsole console)
    {
        var fleet = new Option<FileInfo>("--fleet") { Description = "Fleet file (`greentrace fleet create`)", Required = true };
        var host = new Option<string?>("--host") { Description = "MQTT broker host (default 127.0.0.1)" };
        var port = new Option<int>("--port") { Description = "MQTT broker port", Required = true };
        var ca = new Option<FileInfo?>("--ca") { Description = "PEM CA of the broker's TLS certificate (implies TLS)" };
        var kafka = new Option<string>("--kafka") { Description = "Kafka bootstrap servers: the load watches gt.ledger there", Required = true };
        var profile = new Option<string?>("--kafka-profile") { Description = "Modern (default) or Kafka09" };
        var rate = new Option<double>("--rate") { Description = "Readings per second offered by the fleet (default 10000)", DefaultValueFactory = _ => 10_000 };
        var duration = new Option<int>("--duration") { Description = "Seconds of measured load (default 300)", DefaultValueFactory = _ => 300 };
        var tail = new Option<int?>("--tail-intervals") { Description = "Intervals published after the measured ones so the last measured hours close (default: 2 h + 15 min of event time)" };
        var start = new Option<DateOnly?>("--start") { Description = "First simulated day (default: 30 days ago)" };
        var report = new Option<FileInfo?>("--report") { Description = "Write the measurements as JSON here" };
        var drain = new Option<int>("--drain-timeout") { Description = "Give up waiting for the last certificates after this many seconds without a new one (default 60)", DefaultValueFactory = _ => 60 };
        var signLive = new Option<bool>("--sign-live") { Description = "Sign each reading as it is published, on this machine (default: signed ahead, as meters sign on their own chips)" };
        var command = new Command("load", "Drive a fleet through the broker, the gateways, Kafka and the aggregators at a fixed rate; report sustained readings/s, reading-to-certificate latency, and whether every acknowledged Wh was certified exactly once.")
        {
            fleet, host, port, ca, kafka, profile, rate, duration, tail, start, report, drain, signLive,
        };
        command.SetAction(async (parse, ct) =>
        {
            var configuration = DemoCommand.LoadConfiguration();
            var sim = configuration.GetSection(SimulatorOptions.SectionName).Get<SimulatorOptions>() ?? new SimulatorOptions();
            sim.Host = parse.GetValue(host) ?? "127.0.0.1";
            sim.Port = parse.GetValue(port);
            if (parse.GetValue(ca) is { } caFile)
            {
                sim.UseTls = true;
                sim.CaFile = caFile.FullName;
            }
            sim.MaxConcurrentPublishes = Math.Max(sim.MaxConcurrentPublishes, 256);
            var kafkaOptions = new KafkaOptions
            {
                BootstrapServers = parse.GetValue(kafka)!,
                BrokerProfile = Enum.TryParse<KafkaBrokerProfile>(parse.GetValue(profile) ?? nameof(KafkaBrokerProfile.Modern), ignoreCase: true, out var p) ? p : KafkaBrokerProfile.Modern,
            };
            if (parse.GetValue(rate) is not (> 0 and < 1e7) || parse.GetValue(duration) < 10)
                return await FailAsync(console, "--rate must be positive and --duration at least 10 seconds").ConfigureAwait(false);

            Fleet loaded;
            try
            {
                loaded = Fleet.Load(parse.GetValue(fleet)!.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return await FailAsync(console, $"fleet: {e.Message}").ConfigureAwait(false);
            }
            using (loaded)
            {
                var interval = loaded.IntervalSeconds;
                var tailIntervals = parse.GetValue(tail) ?? ((2 * 3600) + 900) / interval;
                var day = parse.GetValue(start) ?? DateOnly.FromDateTime(DateTime.UtcNow.Date).AddDays(-30);
                var request = new LoadRequest(loaded, sim, kafkaOptions, parse.GetValue(rate), parse.GetValue(duration), tailIntervals,
                    new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), TimeSpan.FromSeconds(parse.GetValue(drain)), SignAhead: !parse.GetValue(signLive));
                var runner = new LoadRunner(request);
                var progress = new Progress<string>(line => console.Error.WriteLine($"[load] {line}"));
                var result = await runner.RunAsync(progress, ct).ConfigureAwait(false);

                var w = console.Out;
                await w.WriteLineAsync($"meters {result.Meters}, offered {result.TargetRate:0} readings/s for {result.DurationSeconds} s ({(result.SignedAhead ? "readings signed ahead" : "signed live on this machine")})").ConfigureAwait(false);
                await w.WriteLineAsync($"published and acknowledged by the broker: {result.ReadingsAcknowledged} readings in {result.PublishSeconds:0.0} s = {result.AcknowledgedPerSecond:0} readings/s").ConfigureAwait(false);
                await w.WriteLineAsync($"certified (measured hours): {result.CertifiedReadings} of {result.MeasuredReadings} readings in {result.Certificates} certificates ({result.SupplementaryCertificates} supplementary) = {result.CertifiedPerSecond:0} readings/s; slowest 10 s: {result.SlowestTenSecondsPerSecond:0} readings/s").ConfigureAwait(false);
                await w.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"reading-to-certificate latency: p50 {result.LatencyP50Ms:0} ms, p90 {result.LatencyP90Ms:0} ms, p99 {result.LatencyP99Ms:0} ms, max {result.LatencyMaxMs:0} ms")).ConfigureAwait(false);
                await w.WriteLineAsync(result.Balanced ? "books: balanced (every acknowledged Wh of every measured meter-hour is in exactly one certificate)" : $"books: NOT balanced ({result.Problems.Count} problem(s))").ConfigureAwait(false);
                foreach (var problem in result.Problems.Take(20))
                    await w.WriteLineAsync($"  {problem}").ConfigureAwait(false);
                if (parse.GetValue(report) is { } file)
                    await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(result, JsonDefaults.Indented), CancellationToken.None).ConfigureAwait(false);
                return result.Balanced ? ExitCodes.Ok : ExitCodes.Invalid;
            }
        });
        return command;
    }

    private static async Task<int> FailAsync(CliConsole console, string message)
    {
        await console.Error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
        return ExitCodes.Unusable;
    }
}
