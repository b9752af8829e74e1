using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// Not BenchmarkDotNet: a one-pass throughput check of the ledger stores (see LedgerStoreThroughput).
if (args is ["ledger-store-throughput", .. var storeArgs])
    return GreenTrace.Benchmarks.LedgerStoreThroughput.Run(storeArgs);

// One short job by default, so a full run fits in a few minutes on a shared 2-core machine; AsDefault() lets
// command-line options (--warmupCount, --iterationCount, --launchCount, --job) override it.
// scripts/bench parses the full JSON export under BenchmarkDotNet.Artifacts/results.
var config = DefaultConfig.Instance
    .AddJob(Job.Default
        .WithLaunchCount(1)
        .WithWarmupCount(3)
        .WithIterationCount(15)
        .AsDefault())
    .AddExporter(JsonExporter.Full);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
return 0;
