using System.CommandLine;
using GreenTrace.Cli.Demo;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace demo</c>: the whole product, end to end, in one process.</summary>
public static class DemoCommand
{
    public static Command Create(CliConsole console)
    {
        var meters = new Option<int?>("--meters") { Description = "Number of simulated meters (default 100)" };
        var days = new Option<int?>("--days") { Description = "Simulated days of 15-minute readings (default 1)" };
        var start = new Option<DateOnly?>("--start") { Description = "First simulated day, UTC (default: the days up to yesterday)" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed for keys-independent randomness: profiles, weather, faults (default 42)" };
        var faults = new Option<double?>("--fault-rate") { Description = "Rate of each injected fault kind (tampering, forged key, garbage, duplicate, replay, misaligned, wrong topic, clock skew, counter rollback, oversized); 0 for none (default 0.005)" };
        var speed = new Option<double?>("--speed") { Description = "Simulated seconds per real second (default: as fast as possible)" };
        var data = new Option<string?>("--data") { Description = "Directory for the ledger, reading archive, fleet and keys (default ./greentrace-demo)" };
        var output = new Option<string?>("--out") { Description = "Write the proof bundle to DIR/bundle.json and the trusted keys to DIR/trust.json (default: the data directory)" };
        var command = new Command("demo", "Run the whole pipeline on embedded defaults: simulated meters → MQTT → gateway → stream → hourly certificates → ledger → a verified proof bundle.")
        {
            meters, days, start, seed, faults, speed, data, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var configuration = LoadConfiguration();
            var options = configuration.GetSection(DemoOptions.Section).Get<DemoOptions>() ?? new DemoOptions();
            options.Meters = parse.GetValue(meters) ?? options.Meters;
            options.Days = parse.GetValue(days) ?? options.Days;
            options.StartDay = parse.GetValue(start) ?? options.StartDay;
            options.Seed = parse.GetValue(seed) ?? options.Seed;
            options.FaultRate = parse.GetValue(faults) ?? options.FaultRate;
            options.Speed = parse.GetValue(speed) ?? options.Speed;
            options.DataDirectory = parse.GetValue(data) ?? options.DataDirectory;
            options.OutputDirectory = parse.GetValue(output) ?? options.OutputDirectory;
            return await RunAsync(console, options, configuration, ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>appsettings.json beside the program, then environment variables (GREENTRACE_ prefix, or plain Section__Key).</summary>
    public static IConfiguration LoadConfiguration() =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: false)
            .AddEnvironmentVariables()
            .AddEnvironmentVariables("GREENTRACE_")
            .Build();

    public static async Task<int> RunAsync(CliConsole console, DemoOptions options, IConfiguration configuration, CancellationToken ct)
    {
        if (options.Meters < 1 || options.Days < 1 || options.FaultRate is < 0 or > 0.1 || options.Speed is <= 0)
        {
            await console.Error.WriteLineAsync("error: --meters and --days must be at least 1, --fault-rate within 0..0.1, --speed positive").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }
        // Colour and a live display only on a terminal; a pipe, a file or a test gets plain text.
        var terminal = ReferenceEquals(console, CliConsole.System) && !Console.IsOutputRedirected;
        var lastDay = (options.StartDay ?? DateOnly.FromDateTime(DateTime.UtcNow.Date).AddDays(-options.Days)).AddDays(options.Days - 1);
        if (lastDay >= DateOnly.FromDateTime(DateTime.UtcNow.Date))
        {
            // A certificate is issued only for an hour that is over, so a run into today or later could never finish.
            await console.Error.WriteLineAsync($"error: the simulated days must have ended; the last would be {lastDay:yyyy-MM-dd} (UTC today is {DateTime.UtcNow:yyyy-MM-dd})").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Out),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        ansi.MarkupLine($"[bold green]GreenTrace demo[/]: {options.Meters} meters × {options.Days} day(s) of 15-minute readings, embedded broker, in-process stream, SQLite ledger");
        DemoResult result;
        try
        {
            result = await new DemoRunner(options, configuration, ansi).RunAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Invalid;
        }
        DemoSummary.Print(ansi, result);
        return result.Succeeded ? ExitCodes.Ok : ExitCodes.Invalid;
    }
}
