using System.CommandLine;
using GreenTrace.Cli.Commands;

namespace GreenTrace.Cli;

/// <summary>Standard streams, passed in so commands run the same under tests as from a shell.</summary>
public sealed record CliConsole(TextReader In, TextWriter Out, TextWriter Error)
{
    public static CliConsole System { get; } = new(Console.In, Console.Out, Console.Error);
}

/// <summary>Exit codes every command keeps to.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The input was read and found wanting (a proof that does not verify, a forged reading).</summary>
    public const int Invalid = 1;

    /// <summary>The input could not be used at all (missing file, not the expected format, bad arguments).</summary>
    public const int Unusable = 2;
}

/// <summary><c>greentrace</c>: one entry point for every role.</summary>
public static class CliApp
{
    public static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("GreenTrace: proves where green electricity came from, from signed meter readings to claimed certificates.");
        root.Subcommands.Add(DemoCommand.Create(console));
        root.Subcommands.Add(GatewayCommand.Create(console));
        root.Subcommands.Add(VerifyCommand.Create(console));
        root.Subcommands.Add(ReadingCommand.Create(console));
        root.Subcommands.Add(MerkleCommand.Create(console));
        root.Subcommands.Add(BrokerCommand.Create(console));
        root.Subcommands.Add(SimCommand.Create(console));
        root.Subcommands.Add(FleetCommand.Create(console));
        root.Subcommands.Add(AggregatorCommand.Create(console));
        root.Subcommands.Add(IssuersCommand.Create(console));
        root.Subcommands.Add(LoadCommand.Create(console));
        root.Subcommands.Add(TimeSeriesCommand.Create(console));
        root.Subcommands.Add(KafkaCommand.Create(console));
        root.Subcommands.Add(LedgerCommand.Create(console));
        root.Subcommands.Add(LedgerBenchCommand.Create(console));
        root.Subcommands.Add(ApiCommand.Create(console));
        foreach (var owner in OwnerCommands.Create(console))
            root.Subcommands.Add(owner);
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(console);
        var root = Build(console);
        var parsed = root.Parse(args);
        var config = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            // After Ctrl+C a command gets this long to save its state (the simulator's fleet and buffers) before the process ends.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(20),
        };
        if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var error in parsed.Errors)
                await console.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            await console.Error.WriteLineAsync("Run 'greentrace --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }
        return await parsed.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
    }
}
