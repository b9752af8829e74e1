using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using GreenTrace.Cli.Sim;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace sim --fleet FILE</c>: the fleet's meters publish signed readings to a real broker (or an IoT hub), with
/// faults injected at chosen rates, buffering on disk while the broker is away; the fleet file is saved afterwards so
/// the next run resumes where this one stopped.
/// </summary>
public static class SimCommand
{
    /// <summary>The command line's view of a run, on top of appsettings.json's Simulator sections.</summary>
    public sealed record Request
    {
        public required FileInfo Fleet { get; init; }
        public string? Host { get; init; }
        public int? Port { get; init; }
        public bool Tls { get; init; }
        public FileInfo? Ca { get; init; }
        public string? Username { get; init; }
        public string? Password { get; init; }
        public string? IotHub { get; init; }
        public DateTimeOffset? Start { get; init; }
        public int? Intervals { get; init; }
        public int? Days { get; init; }
        public double? Speed { get; init; }
        public bool RealTime { get; init; }
        public double? FaultRate { get; init; }
        public IReadOnlyDictionary<FaultKind, double> FaultRates { get; init; } = new Dictionary<FaultKind, double>();
        public ulong? FaultSeed { get; init; }
        public string? BufferDirectory { get; init; }
        public FileInfo? Summary { get; init; }

        /// <summary>Seconds between progress lines when the output is not a terminal.</summary>
        public double ProgressSeconds { get; init; } = 5;
    }

    public static Command Create(CliConsole console)
    {
        var fleet = new Option<FileInfo>("--fleet") { Description = "Fleet file (greentrace fleet create); saved again after the run so the next one resumes", Required = true };
        var host = new Option<string?>("--host") { Description = "Broker host (default localhost, or the hub in IoT Hub mode)" };
        var port = new Option<int?>("--port") { Description = "Broker port (default 1883, 8883 with TLS or IoT Hub)" };
        var tls = new Option<bool>("--tls") { Description = "Connect with TLS, trusting the system's CAs unless --ca is given" };
        var ca = new Option<FileInfo?>("--ca") { Description = "PEM file of the CA that issued the broker's certificate: the broker must chain to it (implies --tls)" };
        var username = new Option<string?>("--username") { Description = "MQTT user name; {meterId} is replaced (default: the meter id)" };
        var password = new Option<string?>("--password") { Description = "One MQTT password for all meters (default: each meter's own, derived from its key)" };
        var iotHub = new Option<string?>("--iot-hub") { Description = "Publish to this Azure IoT hub (name or host name) with its MQTT conventions and SAS tokens" };
        var start = new Option<DateTimeOffset?>("--start")
        {
            Description = "First interval, UTC (e.g. 2025-06-01 or 2025-06-01T12:15Z); default: where the fleet stopped, else yesterday 00:00, or now with --realtime",
            CustomParser = ParseUtc,
        };
        var intervals = new Option<int?>("--intervals") { Description = "Number of intervals to publish per meter" };
        var days = new Option<int?>("--days") { Description = "Days of intervals to publish (default 1; with --realtime: until stopped)" };
        var speed = new Option<double?>("--speed") { Description = "Simulated seconds per real second (default: as fast as the broker acknowledges)" };
        var realtime = new Option<bool>("--realtime") { Description = "Follow the wall clock: each interval is published when it has really ended" };
        var faultRate = new Option<double?>("--fault-rate") { Description = "Rate (per meter and interval, 0..1) of every fault kind; the per-kind options override it" };
        var kindRates = FaultKinds.All.ToDictionary(k => k, k => new Option<double?>("--" + k.Code())
        {
            Description = $"Rate of {Describe(k)} (gateway: {Expectation(k)})",
        });
        var faultSeed = new Option<ulong?>("--fault-seed") { Description = "Seed for which intervals get which faults (default: the fleet's seed)" };
        var bufferDir = new Option<string?>("--buffer-dir") { Description = "Directory for the meters' store-and-forward buffers (default: FLEET.buffer beside the fleet file)" };
        var summary = new Option<FileInfo?>("--summary") { Description = "Write the run's counters as JSON to this file" };

        var command = new Command("sim", "Run a fleet of simulated meters against a broker: signed readings over MQTT, injected faults, store-and-forward, live progress.")
        {
            fleet, host, port, tls, ca, username, password, iotHub, start, intervals, days, speed, realtime, faultRate,
        };
        foreach (var option in kindRates.Values)
            command.Options.Add(option);
        command.Options.Add(faultSeed);
        command.Options.Add(bufferDir);
        command.Options.Add(summary);
        command.SetAction(async (parse, ct) =>
        {
            var request = new Request
            {
                Fleet = parse.GetValue(fleet)!,
                Host = parse.GetValue(host),
                Port = parse.GetValue(port),
                Tls = parse.GetValue(tls),
                Ca = parse.GetValue(ca),
                Username = parse.GetValue(username),
                Password = parse.GetValue(password),
                IotHub = parse.GetValue(iotHub),
                Start = parse.GetValue(start),
                Intervals = parse.GetValue(intervals),
                Days = parse.GetValue(days),
                Speed = parse.GetValue(speed),
                RealTime = parse.GetValue(realtime),
                FaultRate = parse.GetValue(faultRate),
                FaultRates = kindRates.Where(kv => parse.GetValue(kv.Value) is not null).ToDictionary(kv => kv.Key, kv => parse.GetValue(kv.Value)!.Value),
                FaultSeed = parse.GetValue(faultSeed),
                BufferDirectory = parse.GetValue(bufferDir),
                Summary = parse.GetValue(summary),
            };
            return await RunAsync(console, request, DemoCommand.LoadConfiguration(), TimeProvider.System, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static string Describe(FaultKind kind) => kind switch
    {
        FaultKind.TamperedPayload => "readings altered after signing",
        FaultKind.WrongKey => "readings signed by a key that is not the meter's",
        FaultKind.Garbage => "random bytes",
        FaultKind.Duplicate => "readings published twice",
        FaultKind.Replay => "old readings published again",
        FaultKind.MisalignedInterval => "intervals off the 15-minute grid",
        FaultKind.WrongTopic => "readings on another meter's topic",
        FaultKind.ClockSkew => "readings dated days ahead",
        FaultKind.CounterRollback => "registers rolled back",
        FaultKind.Oversized => "messages over the gateway's size limit",
        _ => kind.Code(),
    };

    public static string Expectation(FaultKind kind)
    {
        var outcome = kind.ExpectedGatewayOutcome();
        return outcome.Disposition switch
        {
            FaultDisposition.DroppedAsDuplicate => "dropped as a duplicate",
            FaultDisposition.RefusedByBroker => "refused by the broker",
            _ => outcome.Reason!,
        };
    }

    private static DateTimeOffset? ParseUtc(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
            return value;
        result.AddError($"'{text}' is not a date or time (use e.g. 2025-06-01 or 2025-06-01T12:15Z)");
        return null;
    }

    public static async Task<int> RunAsync(CliConsole console, Request request, IConfiguration configuration, TimeProvider time, CancellationToken ct)
    {
        var simOptions = configuration.GetSection(SimulatorOptions.SectionName).Get<SimulatorOptions>() ?? new SimulatorOptions();
        var faults = configuration.GetSection(FaultOptions.SectionName).Get<FaultOptions>() ?? new FaultOptions();
        ApplyOverrides(request, simOptions, faults);

        Fleet fleet;
        try
        {
            fleet = Fleet.Load(request.Fleet.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Unusable(console, $"fleet {request.Fleet.FullName}: {e.Message}");
        }
        using (fleet)
        {
            simOptions.BufferDirectory ??= request.Fleet.FullName + ".buffer";
            if (CheckOptions(request) is { } badOption)
                return Unusable(console, badOption);

            var terminal = ReferenceEquals(console, CliConsole.System) && !Console.IsOutputRedirected;
            var ansi = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(console.Out),
                Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
            });
            // A pipe or a log file has no width: keep each progress line on one line.
            if (!terminal)
                ansi.Profile.Width = 400;
            using var logging = LoggerFactory.Create(b => b
                .AddConfiguration(configuration.GetSection("Logging"))
                // Logs go to stderr so the progress display and the summary own stdout.
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

            FleetPublisher publisher;
            try
            {
                publisher = new FleetPublisher(fleet, simOptions, faults, logging.CreateLogger<FleetPublisher>(), time);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                return Unusable(console, e.Message);
            }
            // Planned once the buffers are read: a run that died before saving the fleet has moved its meters on.
            var plan = Plan(request, fleet, time, out var problem);
            if (plan is null)
            {
                await publisher.DisposeAsync().ConfigureAwait(false);
                return Unusable(console, problem!);
            }

            var target = simOptions.IsIotHub
                ? $"IoT hub {simOptions.BrokerHost}:{simOptions.BrokerPort}"
                : $"{(simOptions.IsTls ? "mqtts" : "mqtt")}://{simOptions.BrokerHost}:{simOptions.BrokerPort}";
            var pace = plan.FollowsWallClock ? "real time" : plan.Speed is { } s ? $"{s:0.###}× real time" : "as fast as the broker takes it";
            ansi.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"GreenTrace sim: {fleet.Meters.Count} meters → {target}, from {plan.Start:yyyy-MM-dd HH:mm}Z, {(plan.Intervals == int.MaxValue ? "until stopped" : $"{plan.Intervals} intervals")}, {pace}")));
            if (faults.Any)
                ansi.MarkupLine(Markup.Escape("Faults per meter and interval: " + string.Join(", ", FaultKinds.All.Where(k => faults.RateOf(k) > 0).Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Code()} {faults.RateOf(k):0.####}")))));
            if (publisher.Stats.RecoveredFromBuffer > 0)
                ansi.MarkupLine(Markup.Escape($"{publisher.Stats.RecoveredFromBuffer} buffered messages from an earlier run go out first ({simOptions.BufferDirectory})"));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var outcome = "completed";
            await using (publisher)
            {
                try
                {
                    await SimProgress.ShowAsync(ansi, publisher.Stats, plan, fleet.IntervalSeconds, () => publisher.RunAsync(plan, ct), request.ProgressSeconds, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    outcome = "stopped";
                }
                catch (ArgumentException e)
                {
                    return Unusable(console, e.Message);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The buffer directory failed under the run (disk full, permissions): what is on disk stays valid.
                    await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                    return ExitCodes.Invalid;
                }
                finally
                {
                    // Saved before anything else can fail: the fleet's state must match what the meters have read and buffered.
                    fleet.Save(request.Fleet.FullName);
                }
                var snapshot = publisher.Stats.Snapshot();
                if (request.Summary is { } summaryFile)
                {
                    var json = SimSummary.ToJson(SimSummary.Create(request.Fleet.FullName, target, plan, outcome, clock.Elapsed, snapshot, faults));
                    await File.WriteAllTextAsync(summaryFile.FullName, json, CancellationToken.None).ConfigureAwait(false);
                }
                SimProgress.PrintSummary(ansi, snapshot, outcome, clock.Elapsed, simOptions.BufferDirectory);
            }
            return ExitCodes.Ok;
        }
    }

    private static void ApplyOverrides(Request request, SimulatorOptions sim, FaultOptions faults)
    {
        sim.Host = request.Host ?? sim.Host;
        sim.Port = request.Port ?? sim.Port;
        sim.UseTls |= request.Tls;
        if (request.Ca is not null)
            sim.CaFile = request.Ca.FullName;
        sim.Username = request.Username ?? sim.Username;
        sim.Password = request.Password ?? sim.Password;
        sim.IotHub = request.IotHub ?? sim.IotHub;
        sim.BufferDirectory = request.BufferDirectory ?? sim.BufferDirectory;
        if (request.FaultRate is { } all)
        {
            foreach (var kind in FaultKinds.All)
                faults.SetRate(kind, all);
        }
        foreach (var (kind, rate) in request.FaultRates)
            faults.SetRate(kind, rate);
        faults.Seed = request.FaultSeed ?? faults.Seed;
    }

    /// <summary>What is wrong with the options on their own, before the fleet's state matters; null if nothing.</summary>
    private static string? CheckOptions(Request request)
    {
        if (request.Intervals is not null && request.Days is not null)
            return "give --intervals or --days, not both";
        if (request.Intervals is < 1 || request.Days is < 1)
            return "--intervals and --days must be at least 1";
        if (request.RealTime && request.Speed is not null)
            return "--realtime runs at the wall clock's speed; drop --speed";
        if (request.Speed is { } speed && !(double.IsFinite(speed) && speed > 0))
            return "--speed must be a positive number of simulated seconds per real second";
        if (request.FaultRate is < 0 or > 1 || request.FaultRates.Values.Any(r => r is < 0 or > 1))
            return "fault rates must be within 0..1";
        return null;
    }

    /// <summary>Which intervals to publish, or null with the reason the request makes no sense for this fleet now.</summary>
    private static RunPlan? Plan(Request request, Fleet fleet, TimeProvider time, out string? problem)
    {
        problem = null;
        var length = fleet.IntervalSeconds;
        var now = time.GetUtcNow();
        var resumeAt = fleet.Meters.Select(m => m.State.LastIntervalEnd).Max() is { } end ? DateTimeOffset.FromUnixTimeSeconds(end) : (DateTimeOffset?)null;
        var start = request.Start
            ?? (request.RealTime ? RunPlan.AlignDown(now, length) : resumeAt ?? new DateTimeOffset(now.UtcDateTime.Date.AddDays(-1), TimeSpan.Zero));
        if (start.ToUnixTimeSeconds() % length != 0)
        {
            problem = $"--start {start:yyyy-MM-ddTHH:mm:ssZ} is not on the fleet's {length / 60}-minute grid";
            return null;
        }
        if (resumeAt is { } resume && start < resume)
        {
            problem = $"the fleet has already read up to {resume:yyyy-MM-ddTHH:mm}Z; start there or later (a meter cannot read its past again)";
            return null;
        }
        var intervals = request.Intervals ?? (request.Days is { } d ? (int)Math.Min(int.MaxValue, (long)d * 86400 / length)
            : request.RealTime ? int.MaxValue : 86400 / length);
        if (request.RealTime)
            return RunPlan.RealTime(start, intervals);
        var runEnd = start.AddSeconds((double)intervals * length);
        if (runEnd > now)
        {
            problem = $"the run would publish intervals that have not ended yet (the last ends {runEnd:yyyy-MM-ddTHH:mm}Z, now is {now:yyyy-MM-ddTHH:mm}Z); use --realtime to follow the clock";
            return null;
        }
        return new RunPlan(start, intervals, request.Speed);
    }

    private static int Unusable(CliConsole console, string message)
    {
        console.Error.WriteLine($"error: {message}");
        return ExitCodes.Unusable;
    }
}
