using System.CommandLine;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Ledger;

/// <summary><c>greentrace ledger node</c>: one replicated ledger node on Kafka, cosigning checkpoints with its peers, until stopped.</summary>
internal static class LedgerNodeCommand
{
    public static Command Create(CliConsole console)
    {
        var store = new Option<string?>("--store") { Description = $"This node's own store: a path, sqlite:PATH or postgres:... (default ${LedgerTargetOptions.StoreVariable})" };
        var trust = new Option<FileInfo>("--trust") { Description = "The genesis membership (genesis.json)", Required = true };
        var nodeKey = new Option<FileInfo>("--node-key") { Description = "This node's key file (node-N.key); its name is the node's name", Required = true };
        var kafka = new Option<string?>("--kafka") { Description = "Kafka bootstrap servers HOST:PORT (or Kafka:BootstrapServers)" };
        var kafka09 = new Option<bool>("--kafka09") { Description = "The Kafka broker is Apache Kafka 0.9" };
        var command = new Command("node", "Run one replicated ledger node: judge the entries on gt.ledger in order, append them to this node's store, exchange checkpoint signatures on gt.checkpoints. Runs until Ctrl+C.")
        {
            store, trust, nodeKey, kafka, kafka09,
        };
        command.SetAction(async (parse, ct) =>
        {
            Membership genesis;
            NoteSigner signer;
            string spec;
            try
            {
                spec = parse.GetValue(store) ?? LedgerTargetOptions.StoreFromEnvironment() ?? throw new LedgerFileException($"--store SPEC (or ${LedgerTargetOptions.StoreVariable}) is required");
                genesis = LedgerFiles.LoadTrust(parse.GetValue(trust)!.FullName);
                signer = LedgerFiles.LoadNodeKey(parse.GetValue(nodeKey)!.FullName);
            }
            catch (LedgerFileException e)
            {
                return Commands.LedgerCommand.Unusable(console, e.Message);
            }
            var overrides = new Dictionary<string, string?>
            {
                [$"{LedgerOptions.Section}:{nameof(LedgerOptions.NodeName)}"] = signer.Name,
            };
            StreamDeployment.Override(overrides, parse.GetValue(kafka), parse.GetValue(kafka09) ? nameof(KafkaBrokerProfile.Kafka09) : null);
            var configuration = new ConfigurationBuilder()
                .AddConfiguration(Commands.DemoCommand.LoadConfiguration())
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:GreenTrace"] = "Information" })
                .AddEnvironmentVariables()
                .AddEnvironmentVariables("GREENTRACE_")
                .AddInMemoryCollection(overrides)
                .Build();

            using var signerScope = signer;
            LedgerNode node;
            try
            {
                // The node keeps the membership, not these keys: it builds its own from the log.
                using var trustKeys = new TrustedKeys(genesis);
                node = new LedgerNode(LedgerStores.Open(spec), trustKeys, signer);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or System.Data.Common.DbException)
            {
                return Commands.LedgerCommand.Unusable(console, $"ledger store: {e.Message}");
            }
            // Disposed after the host (declared before it): the container does not dispose an instance it was handed.
            using var nodeScope = node;
            using var host = Build(configuration, node);
            var service = host.Services.GetRequiredService<LedgerNodeService>();
            try
            {
                await CliHost.RunUntilStoppedAsync(host, ct).ConfigureAwait(false);
            }
            catch (OptionsValidationException e)
            {
                return Commands.LedgerCommand.Unusable(console, e.Message);
            }
            var checkpoint = node.LatestCheckpoint();
            await console.Out.WriteLineAsync($"ledger node {signer.Name}: consumed {service.Consumed}, appended {service.Appended}, refused {service.Rejected}, log size {node.Size}, latest checkpoint with quorum: {(checkpoint is null ? "none" : $"size {checkpoint.Size} ({checkpoint.SignatureCount} signatures)")}").ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static IHost Build(IConfiguration configuration, LedgerNode node)
    {
        var builder = CliHost.CreateBuilder(configuration);
        var s = builder.Services;
        StreamDeployment.AddKafka(s, configuration);
        s.AddOptions<LedgerOptions>().Bind(configuration.GetSection(LedgerOptions.Section))
            .Validate(o => o.BatchSize > 0 && o.CheckpointEveryEntries > 0 && o.CheckpointWhenIdleMilliseconds > 0, "ledger limits are out of range")
            .ValidateOnStart();
        s.AddSingleton(node);
        s.AddSingleton<LedgerNodeService>();
        s.AddHostedService(sp => sp.GetRequiredService<LedgerNodeService>());
        s.AddHostedService<LedgerNodeStatusReporter>();
        CliHost.AddMetrics(s, configuration, LedgerNode.Meter.Name);
        return builder.Build();
    }
}

/// <summary>Logs this node's counts at a fixed period.</summary>
internal sealed class LedgerNodeStatusReporter(LedgerNodeService service, LedgerNode node, IConfiguration configuration, ILogger<LedgerNodeStatusReporter> logger)
    : PeriodicStatusReporter(configuration, "Ledger:StatusIntervalSeconds")
{
    protected override void Report()
    {
        var checkpoint = node.LatestCheckpoint();
        logger.LogInformation("consumed {Consumed}, appended {Appended}, refused {Refused}, log size {Size}, checkpoint signatures read {Signatures}, latest quorum checkpoint {Checkpoint}, divergences {Divergences}",
            service.Consumed, service.Appended, service.Rejected, node.Size, service.SignaturesRead, checkpoint?.Size ?? 0, service.Cosigner.Divergences);
    }
}
