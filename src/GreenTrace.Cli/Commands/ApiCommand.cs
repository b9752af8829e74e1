using System.CommandLine;
using GreenTrace.Api;
using GreenTrace.Cli.Demo;
using GreenTrace.Cli.Ledger;
using GreenTrace.Streaming.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace api</c>: the buyers' HTTP API (docs/api.md) over a ledger store, with an embedded node that judges
/// submitted owner entries. Entries go straight to the store, or with --kafka onto the entry stream of the replicated nodes.
/// </summary>
public static class ApiCommand
{
    public static Command Create(CliConsole console)
    {
        var store = new Option<string?>("--store") { Description = $"Ledger store: a path, sqlite:PATH or postgres:... (default ${LedgerTargetOptions.StoreVariable})" };
        var trust = new Option<FileInfo?>("--trust") { Description = "The genesis membership (genesis.json from `ledger init`)" };
        var nodeKeys = new Option<FileInfo[]>("--node-key")
        {
            Description = "A node's key file; the first runs the embedded node, all of them cosign each new checkpoint (repeat up to the quorum)",
            AllowMultipleArgumentsPerToken = false,
        };
        var demo = new Option<DirectoryInfo?>("--demo") { Description = "Serve what `greentrace demo` left in DIR (its ledger, archive, genesis and node key), instead of --store/--trust/--node-key/--archive" };
        var archive = new Option<FileInfo?>("--archive") { Description = "The aggregator's reading archive (archive.db): needed for proof bundles" };
        var urls = new Option<string[]>("--urls") { Description = $"Where to listen (default {ApiHost.DefaultUrl}; loopback unless you say otherwise)" };
        var maxBytes = new Option<long?>("--max-request-bytes") { Description = "Largest accepted request body (default 65536)" };
        var kafka = new Option<string?>("--kafka")
        {
            Description = "In front of the replicated ledger: submissions go onto gt.ledger at these Kafka bootstrap servers, and --store is the store a `ledger node` writes (no --node-key: the nodes sign)",
        };
        var kafka09 = new Option<bool>("--kafka09") { Description = "The Kafka broker is Apache Kafka 0.9" };
        var command = new Command("api", "Serve the buyers' HTTP API: certificates, entries, checkpoints, consistency and proof bundles; accepts signed owner entries.")
        {
            store, trust, nodeKeys, archive, urls, maxBytes, demo, kafka, kafka09,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new ApiOptions
            {
                Store = parse.GetValue(store) ?? LedgerTargetOptions.StoreFromEnvironment() ?? "",
                TrustFile = parse.GetValue(trust)?.FullName ?? "",
                ArchivePath = parse.GetValue(archive)?.FullName,
            };
            if (parse.GetValue(maxBytes) is { } max)
                options.MaxRequestBytes = max;
            foreach (var k in parse.GetValue(nodeKeys) ?? [])
                options.NodeKeyFiles.Add(k.FullName);
            if (parse.GetValue(demo) is { } dir)
            {
                if (!File.Exists(Path.Combine(dir.FullName, DemoLayout.Ledger)) || !File.Exists(Path.Combine(dir.FullName, DemoLayout.Genesis)))
                {
                    await console.Error.WriteLineAsync($"error: {dir.FullName} holds no demo ledger ({DemoLayout.Ledger}, {DemoLayout.Genesis}): run `greentrace demo --data {dir.FullName}` first").ConfigureAwait(false);
                    return ExitCodes.Unusable;
                }
                options.Store = "sqlite:" + Path.Combine(dir.FullName, DemoLayout.Ledger);
                options.TrustFile = Path.Combine(dir.FullName, DemoLayout.Genesis);
                options.ArchivePath = Path.Combine(dir.FullName, DemoLayout.Archive);
                options.NodeKeyFiles.Clear();
                options.NodeKeyFiles.Add(Path.Combine(dir.FullName, DemoLayout.NodeKey));
            }
            var replicated = parse.GetValue(kafka) is not null;
            if (replicated && options.NodeKeyFiles.Count > 0)
            {
                await console.Error.WriteLineAsync("error: with --kafka the API holds no node key (the ledger nodes judge and sign): drop --node-key").ConfigureAwait(false);
                return ExitCodes.Unusable;
            }
            if (options.Store.Length == 0 || options.TrustFile.Length == 0 || (options.NodeKeyFiles.Count == 0 && !replicated))
            {
                await console.Error.WriteLineAsync($"error: say which ledger to serve: --demo DIR, or --store SPEC (or ${LedgerTargetOptions.StoreVariable}) with --trust FILE and --node-key FILE").ConfigureAwait(false);
                return ExitCodes.Unusable;
            }
            WebApplication app;
            try
            {
                Action<IServiceCollection>? streams = null;
                if (replicated)
                {
                    var overrides = new Dictionary<string, string?>();
                    StreamDeployment.Override(overrides, parse.GetValue(kafka), parse.GetValue(kafka09) ? nameof(KafkaBrokerProfile.Kafka09) : null);
                    var configuration = new ConfigurationBuilder().AddConfiguration(DemoCommand.LoadConfiguration()).AddInMemoryCollection(overrides).Build();
                    streams = s => StreamDeployment.AddKafka(s, configuration);
                }
                app = ApiHost.Build(options, parse.GetValue(urls), streams: streams);
                await app.StartAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidDataException
                or InvalidOperationException or ArgumentException or System.Data.Common.DbException)
            {
                await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Unusable;
            }
            await using (app.ConfigureAwait(false))
            {
                // Tests and scripts read the bound address from here (port 0 picks a free one).
                foreach (var url in app.Urls)
                    await console.Error.WriteLineAsync($"listening on {url}").ConfigureAwait(false);
                try
                {
                    await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
