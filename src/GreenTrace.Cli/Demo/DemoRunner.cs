using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GreenTrace.Aggregator;
using GreenTrace.Cli.Ledger;
using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using GreenTrace.Gateway;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace GreenTrace.Cli.Demo;

/// <summary>What a demo run established; the summary table and the tests read it.</summary>
public sealed record DemoResult(
    int Meters,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    long ReadingsGenerated,
    long MessagesSent,
    long RefusedByBroker,
    IReadOnlyDictionary<FaultKind, long> FaultsInjected,
    long Accepted,
    long Duplicates,
    IReadOnlyDictionary<string, long> RejectedByReason,
    long AcceptedWh,
    long Certificates,
    long SupplementaryCertificates,
    long CertifiedReadings,
    long CertifiedWh,
    long ConsumptionReadings,
    long LedgerSize,
    long LedgerRejected,
    string CheckpointRoot,
    IReadOnlyList<string> ReconciliationErrors,
    string BundlePath,
    string TrustPath,
    VerificationReport BundleReport,
    MarketResult Market,
    string BuyerOwnerId,
    string CertificateId,
    string DataDirectory,
    TimeSpan Elapsed)
{
    public long Rejected => RejectedByReason.Values.Sum();

    public bool Succeeded => ReconciliationErrors.Count == 0 && BundleReport.IsValid;
}

/// <summary>
/// <c>greentrace demo</c>: a fleet of simulated meters publishes a day of signed readings over
/// MQTT; the gateway verifies them; the aggregator issues hourly certificates; the ledger records
/// them and signs a checkpoint; a plant owner sells solar certificates to a buyer hour by hour
/// and the buyer claims them (<see cref="DemoMarket"/>); a proof bundle for one reading is
/// written out and verified. Then the books are balanced: every accepted Wh must be in exactly
/// one certificate, every accepted consumption Wh archived for matching, every trade accepted.
/// </summary>
public sealed class DemoRunner
{
    private readonly DemoOptions _options;
    private readonly IConfiguration _configuration;
    private readonly IAnsiConsole _console;

    public DemoRunner(DemoOptions options, IConfiguration configuration, IAnsiConsole console)
    {
        _options = options;
        _configuration = configuration;
        _console = console;
    }

    public async Task<DemoResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var dataDir = Path.GetFullPath(_options.DataDirectory);
        var outDir = Path.GetFullPath(_options.OutputDirectory ?? _options.DataDirectory);
        Directory.CreateDirectory(dataDir);
        Directory.CreateDirectory(outDir);
        var paths = new DemoPipeline.Paths(Path.Combine(dataDir, DemoLayout.Ledger), Path.Combine(dataDir, DemoLayout.Archive));
        // Each run starts a new ledger; only our own files are removed.
        foreach (var db in new[] { paths.LedgerDatabase, paths.ArchiveDatabase })
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
                File.Delete(db + suffix);
        }

        var firstDay = _options.StartDay ?? DateOnly.FromDateTime(DateTime.UtcNow.Date).AddDays(-_options.Days);
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = _options.Meters, Seed = _options.Seed, ConsumptionShare = _options.ConsumptionShare });
        fleet.Save(Path.Combine(dataDir, "fleet.json"));
        await File.WriteAllTextAsync(Path.Combine(dataDir, "registry.json"), fleet.RegistryJson(), cancellationToken).ConfigureAwait(false);
        using var devices = new DeviceDirectory(fleet.Registry);
        using var identities = DemoIdentities.Create(_options.Origin, fleet.Registry, _configuration["Ledger:NodeName"] ?? "node-1");
        var keysPath = Path.Combine(dataDir, "keys.json");
        await File.WriteAllTextAsync(keysPath, identities.SecretsJson(), cancellationToken).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(keysPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // The layout `greentrace api --demo DIR` serves: the genesis, the node's key, the owners' keys as `ledger owner-key` writes them.
        await File.WriteAllTextAsync(Path.Combine(dataDir, DemoLayout.Genesis), identities.Membership.ToJson(), cancellationToken).ConfigureAwait(false);
        LedgerFiles.WriteNodeKey(Path.Combine(dataDir, DemoLayout.NodeKey), identities.Node, identities.NodeGovernanceKey);
        WriteOwnerKey(Path.Combine(dataDir, DemoLayout.PlantOwnerKey), identities.PlantOwner);
        WriteOwnerKey(Path.Combine(dataDir, DemoLayout.BuyerKey), identities.Buyer);

        var plan = new RunPlan(new DateTimeOffset(firstDay.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), _options.Days * 86400 / fleet.IntervalSeconds, _options.Speed);
        var brokerPort = FreeLoopbackPort();
        using var host = DemoPipeline.Build(_configuration, devices, identities, paths, brokerPort);
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        var gateway = host.Services.GetRequiredService<GatewayService>();
        var aggregator = host.Services.GetRequiredService<AggregatorService>();
        var ledger = host.Services.GetRequiredService<LedgerNodeService>();
        var node = host.Services.GetRequiredService<LedgerNode>();
        var archive = host.Services.GetRequiredService<SqliteReadingArchive>();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        var ct = timeout.Token;
        string stage = "starting";
        try
        {
            // The issuing bodies register every meter on the ledger before the first reading.
            stage = "registering meters";
            var streams = host.Services.GetRequiredService<IStreamClientFactory>();
            using (var producer = streams.CreateProducer())
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                var plantOwner = identities.PlantOwner.ExportSubjectPublicKeyInfo();
                var buyer = identities.Buyer.ExportSubjectPublicKeyInfo();
                foreach (var device in fleet.Registry)
                {
                    var issuer = identities.IssuersByZone[device.GridZone];
                    // Generation meters' certificates start with the plant owner; consumption meters are the buyer's, for matching.
                    var owner = device.Direction == Core.Readings.EnergyDirection.Generation ? plantOwner : buyer;
                    await producer.ProduceAsync(Topics.Ledger, device.MeterId, LedgerEntryCodec.SignDeviceRegistered(device, issuer.IssuerId, issuer.Key, now, owner), ct).ConfigureAwait(false);
                }
            }
            stage = "waiting for the gateway to subscribe";
            await WaitUntil(() => gateway.IsSubscribed, ct).ConfigureAwait(false);

            var simOptions = new SimulatorOptions { Host = "127.0.0.1", Port = brokerPort };
            var faults = _options.FaultRate > 0 ? FaultOptions.Uniform(_options.FaultRate, _options.Seed) : new FaultOptions();
            await using var publisher = new FleetPublisher(fleet, simOptions, faults);
            var expectedReadings = (long)plan.Intervals * fleet.Meters.Count;
            var market = MarketResult.None;
            IReadOnlyList<GranularCertificate> certificates = [];

            await ShowProgressAsync(async () =>
            {
                stage = "publishing readings"; // RunAsync connects the meters first
                await publisher.RunAsync(plan, ct).ConfigureAwait(false);
                await publisher.DisconnectAsync(ct).ConfigureAwait(false);

                stage = "gateway draining";
                await WaitUntil(() => gateway.Stats.Received >= publisher.Stats.Acknowledged, ct).ConfigureAwait(false);
                stage = "aggregator draining";
                await WaitUntil(() => aggregator.Stats.Consumed >= gateway.Stats.Accepted, ct).ConfigureAwait(false);
                // The run is finite: close the last hours' windows instead of waiting for readings that will not come.
                aggregator.RequestDrain();
                await WaitUntil(() => aggregator.IsIdle, ct).ConfigureAwait(false);
                stage = "ledger draining";
                var entries = fleet.Registry.Count + aggregator.Stats.Certificates;
                await WaitUntil(() => ledger.Consumed >= entries && node.LatestCheckpoint()?.Size == node.Size, ct).ConfigureAwait(false);

                stage = "trading and claiming certificates";
                var consumptionMeters = fleet.Registry.Where(d => d.Direction == Core.Readings.EnergyDirection.Consumption).Select(d => d.MeterId).ToList();
                var consumed = consumptionMeters.SelectMany(m => archive.ConsumptionByHour(m, long.MinValue, long.MaxValue))
                    .GroupBy(h => h.Hour).ToDictionary(g => g.Key, g => g.Sum(h => h.Wh));
                // The ledger's own record, read once: the market trades it, the books are balanced against it and the bundle proves one of it.
                certificates = node.Entries().Select(e => e.Certificate).OfType<GranularCertificate>().ToList();
                var (trades, result) = DemoMarket.Plan(certificates, consumed, identities.PlantOwner, identities.Buyer, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
                using (var producer = streams.CreateProducer())
                {
                    foreach (var entry in trades)
                        await producer.ProduceAsync(Topics.Ledger, "market", entry, ct).ConfigureAwait(false);
                }
                entries += trades.Count;
                await WaitUntil(() => ledger.Consumed >= entries && node.LatestCheckpoint()?.Size == node.Size, ct).ConfigureAwait(false);
                market = result;
            }, publisher.Stats, expectedReadings, gateway.Stats, aggregator.Stats, ledger, ct).ConfigureAwait(false);

            stage = "stopping";
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);

            var sim = publisher.Stats;
            var claimed = market.ClaimedCertificates.Select(id => Hex.Encode(id)).ToHashSet(StringComparer.Ordinal);
            var faultsInjected = sim.Snapshot().FaultsInjected;
            var reconciliation = Reconcile(gateway.Stats, certificates, archive, aggregator.Stats, devices);
            reconciliation.AddRange(AccountForFaults(faultsInjected, sim.RefusedByBroker, gateway.Stats));
            if (ledger.Rejected > 0)
                reconciliation.Add($"the ledger refused {ledger.Rejected} entries (registrations, certificates or trades)");
            var (bundlePath, trustPath, report, proven) = await WriteBundleAsync(node, claimed.Count > 0 ? certificates.Where(c => claimed.Contains(c.IdHex)).ToList() : certificates, archive, identities.Membership, outDir, ct).ConfigureAwait(false);
            var checkpoint = node.LatestCheckpoint()!;
            return new DemoResult(
                fleet.Meters.Count, plan.Start, plan.Start.AddSeconds((double)plan.Intervals * fleet.IntervalSeconds),
                sim.ReadingsGenerated, sim.MessagesSent, sim.RefusedByBroker, faultsInjected,
                gateway.Stats.Accepted, gateway.Stats.Duplicates, gateway.Stats.RejectedByReason, gateway.Stats.AcceptedWh,
                aggregator.Stats.Certificates, aggregator.Stats.SupplementaryCertificates, aggregator.Stats.ReadingsCertified, aggregator.Stats.WhCertified, aggregator.Stats.Consumption,
                node.Size, ledger.Rejected, Convert.ToBase64String(checkpoint.Root), reconciliation, bundlePath, trustPath, report,
                market, LedgerEntry.OwnerId(identities.Buyer.ExportSubjectPublicKeyInfo()), proven.IdHex, dataDir, clock.Elapsed);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the pipeline did not finish within {_options.TimeoutSeconds}s; it stalled while {stage} " +
                $"(gateway received {gateway.Stats.Received}, accepted {gateway.Stats.Accepted}; aggregator consumed {aggregator.Stats.Consumed}, {aggregator.Stats.Certificates} certificates; ledger consumed {ledger.Consumed})");
        }
    }

    /// <summary>The books: per generation meter, accepted Wh = certified Wh on the ledger; every accepted generation reading in exactly one certificate.</summary>
    private static List<string> Reconcile(GatewayStats gateway, IReadOnlyList<GranularCertificate> certificates, SqliteReadingArchive archive, AggregatorStats aggregator, DeviceDirectory devices)
    {
        var errors = new List<string>();
        var ledgerWh = new Dictionary<string, long>(StringComparer.Ordinal);
        long ledgerReadings = 0;
        foreach (var c in certificates)
        {
            ledgerWh[c.MeterId] = ledgerWh.GetValueOrDefault(c.MeterId) + (long)c.FaceValueWh;
            ledgerReadings += c.ReadingCount;
        }
        // Consumption is accepted for matching, not certified: only generation meters' books must balance.
        var accepted = gateway.AcceptedWhByMeter.Where(kv => devices.Find(kv.Key)?.Direction == Core.Readings.EnergyDirection.Generation)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (var meter in accepted.Keys.Union(ledgerWh.Keys).Order(StringComparer.Ordinal))
        {
            var a = accepted.GetValueOrDefault(meter);
            var l = ledgerWh.GetValueOrDefault(meter);
            if (a != l)
                errors.Add($"meter {meter}: {a} Wh accepted but {l} Wh certified on the ledger");
        }
        if (ledgerReadings != gateway.Accepted - aggregator.Consumption)
            errors.Add($"{gateway.Accepted - aggregator.Consumption} generation readings accepted but {ledgerReadings} in certificates on the ledger");
        var archived = archive.TotalsByMeter();
        if (archived.Values.Sum(t => t.Readings) != ledgerReadings)
            errors.Add($"the reading archive holds {archived.Values.Sum(t => t.Readings)} readings, the ledger's certificates {ledgerReadings}");
        // Consumption is not certified but kept for the buyer's hourly matching: every accepted Wh of it archived.
        var consumption = archive.ConsumptionTotalsByMeter();
        foreach (var (meter, wh) in gateway.AcceptedWhByMeter.Where(kv => devices.Find(kv.Key)?.Direction == Core.Readings.EnergyDirection.Consumption))
        {
            var kept = consumption.GetValueOrDefault(meter).Wh;
            if (kept != wh)
                errors.Add($"consumption meter {meter}: {wh} Wh accepted but {kept} Wh archived for matching");
        }
        if (consumption.Values.Sum(t => t.Readings) != aggregator.Consumption)
            errors.Add($"the aggregator took {aggregator.Consumption} consumption readings but the archive holds {consumption.Values.Sum(t => t.Readings)}");
        if (aggregator.Rejected > 0)
            errors.Add($"the aggregator refused {aggregator.Rejected} readings the gateway had accepted");
        return errors;
    }

    /// <summary>
    /// Every injected fault met the fate <see cref="FaultKinds.ExpectedGatewayOutcome"/> gives it: the broker refused the
    /// wrong topics, the gateway rejected each other kind with its reason code and dropped the duplicates. Only faults
    /// are refused in the demo, so the gateway's counts by reason must match the faults' exactly.
    /// </summary>
    private static List<string> AccountForFaults(IReadOnlyDictionary<FaultKind, long> injected, long refusedByBroker, GatewayStats gateway)
    {
        var errors = new List<string>();
        var expectedRefusals = injected.Where(kv => kv.Key.ExpectedGatewayOutcome().Disposition == FaultDisposition.RefusedByBroker).Sum(kv => kv.Value);
        if (refusedByBroker != expectedRefusals)
            errors.Add($"faults: the broker refused {refusedByBroker} messages, {expectedRefusals} wrong-topic faults were injected");
        var expectedDuplicates = injected.Where(kv => kv.Key.ExpectedGatewayOutcome().Disposition == FaultDisposition.DroppedAsDuplicate).Sum(kv => kv.Value);
        // A QoS 1 redelivery is a duplicate too, so the gateway may count more, never fewer.
        if (gateway.Duplicates < expectedDuplicates)
            errors.Add($"faults: {expectedDuplicates} duplicates were injected but the gateway dropped only {gateway.Duplicates}");
        var expectedByReason = injected.Where(kv => kv.Value > 0 && kv.Key.ExpectedGatewayOutcome().Disposition == FaultDisposition.Rejected)
            .GroupBy(kv => kv.Key.ExpectedGatewayOutcome().Reason!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value), StringComparer.Ordinal);
        var rejected = gateway.RejectedByReason;
        foreach (var reason in expectedByReason.Keys.Union(rejected.Keys).Order(StringComparer.Ordinal))
        {
            var expected = expectedByReason.GetValueOrDefault(reason);
            var actual = rejected.GetValueOrDefault(reason);
            if (expected != actual)
                errors.Add($"faults: expected {expected} readings rejected as {reason}, the gateway rejected {actual}");
        }
        return errors;
    }

    private static void WriteOwnerKey(string path, System.Security.Cryptography.ECDsa key)
    {
        LedgerFiles.WritePrivate(path, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(Path.ChangeExtension(path, ".pub"), key.ExportSubjectPublicKeyInfoPem() + "\n");
    }

    private static async Task<(string Bundle, string Trust, VerificationReport Report, GranularCertificate Proven)> WriteBundleAsync(LedgerNode node, IReadOnlyList<GranularCertificate> certificates, SqliteReadingArchive archive, Membership membership, string outDir, CancellationToken ct)
    {
        // The bundle a buyer would most likely ask for: the sunniest (largest) certificate's largest reading (of those they claimed, when they claimed any).
        var best = certificates.OrderByDescending(c => c.FaceValueWh).ThenBy(c => c.IdHex, StringComparer.Ordinal).FirstOrDefault()
            ?? throw new InvalidOperationException("the ledger holds no certificate to prove");
        var readings = archive.Load(best.Id) ?? throw new InvalidOperationException($"certificate {best.IdHex} has no archived readings");
        var largest = Enumerable.Range(0, readings.Count)
            .OrderByDescending(i => Core.Readings.ReadingCodec.Decode(readings[i]).Value.Reading.EnergyWh).First();
        var bundle = node.BuildProofBundle(best.Id, readings, largest);
        if (!bundle.IsOk)
            throw new InvalidOperationException($"cannot build the proof bundle: {bundle.Error}");

        var bundlePath = Path.Combine(outDir, "bundle.json");
        var trustPath = Path.Combine(outDir, "trust.json");
        await File.WriteAllTextAsync(bundlePath, bundle.Value.ToJson(), ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(trustPath, membership.ToJson(), ct).ConfigureAwait(false);

        // Verify what was written, as the buyer will: from the files, with nothing but the trusted keys.
        var written = ProofBundle.FromJson(await File.ReadAllTextAsync(bundlePath, ct).ConfigureAwait(false));
        using var trust = new TrustedKeys(Membership.FromJson(await File.ReadAllTextAsync(trustPath, ct).ConfigureAwait(false)));
        return (bundlePath, trustPath, ProofBundleVerifier.Verify(written.Value, trust), best);
    }

    private async Task ShowProgressAsync(Func<Task> work, SimulatorStats sim, long expectedReadings, GatewayStats gateway, AggregatorStats aggregator, LedgerNodeService ledger, CancellationToken ct)
    {
        if (!_console.Profile.Capabilities.Interactive)
        {
            // No live display on a pipe or in CI: a line every few seconds instead.
            var task = work();
            while (!task.IsCompleted)
            {
                await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(3), ct)).ConfigureAwait(false);
                _console.MarkupLine($"[grey]readings {sim.ReadingsGenerated}/{expectedReadings} · gateway accepted {gateway.Accepted} · certificates {aggregator.Certificates} · ledger {ledger.Appended}[/]");
            }
            await task.ConfigureAwait(false);
            return;
        }
        await _console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var readings = progress.AddTask("Meters publishing", maxValue: expectedReadings);
                var verified = progress.AddTask("Gateway verifying", maxValue: expectedReadings);
                var certified = progress.AddTask("Aggregator certifying", maxValue: expectedReadings);
                var ledgered = progress.AddTask("Ledger recording", maxValue: 1);
                var task = work();
                while (!task.IsCompleted)
                {
                    readings.Value = sim.ReadingsGenerated;
                    verified.Value = gateway.Accepted + gateway.Rejected + gateway.Duplicates;
                    verified.MaxValue = Math.Max(1, sim.MessagesSent - sim.RefusedByBroker);
                    certified.MaxValue = Math.Max(1, gateway.Accepted);
                    certified.Value = aggregator.ReadingsCertified;
                    ledgered.MaxValue = Math.Max(1, aggregator.Certificates);
                    ledgered.Value = Math.Min(ledger.Appended, ledgered.MaxValue);
                    await Task.WhenAny(task, Task.Delay(100, ct)).ConfigureAwait(false);
                }
                await task.ConfigureAwait(false);
                foreach (var t in new[] { readings, verified, certified, ledgered })
                    t.Value = t.MaxValue;
            }).ConfigureAwait(false);
    }

    private static async Task WaitUntil(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
            await Task.Delay(20, ct).ConfigureAwait(false);
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
