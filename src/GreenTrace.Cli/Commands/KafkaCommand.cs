using System.CommandLine;
using System.Globalization;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace kafka topics</c>: the topics of pipelines/topics.json on a Kafka cluster, created
/// through the AdminClient (brokers 0.10.1+) or printed as kafka-topics.sh commands for clusters
/// managed through ZooKeeper (see docs/kafka.md).
/// </summary>
public static class KafkaCommand
{
    public static Command Create(CliConsole console)
    {
        var catalogOpt = new Option<FileInfo?>("--catalog") { Description = "Topic catalog (default: pipelines/topics.json shipped with greentrace)" };
        var bootstrapOpt = new Option<string?>("--bootstrap") { Description = "Brokers as HOST:PORT[,HOST:PORT…] (librdkafka bootstrap.servers)" };
        var applyOpt = new Option<bool>("--apply") { Description = "Create the missing topics through the AdminClient; report partition counts that differ from the catalog" };
        var zookeeperOpt = new Option<string?>("--zookeeper") { Description = "ZooKeeper as HOST:PORT, for --print-commands" };
        var printOpt = new Option<bool>("--print-commands") { Description = "Print one kafka-topics.sh --zookeeper command per topic (Kafka 0.9 and other clusters without CreateTopics)" };
        var replicationOpt = new Option<short?>("--replication-factor") { Description = "Replicas per partition (default: the broker's default.replication.factor; 1 in printed commands)" };
        var settingOpt = new Option<string[]>("--set") { Description = "A librdkafka setting KEY=VALUE for the admin client (SASL, TLS, …); repeatable", AllowMultipleArgumentsPerToken = false };
        var topics = new Command("topics", "Show, apply or print as kafka-topics.sh commands the catalog's topics (partitions, retention.ms). Exit 0 done, 1 a topic's partition count differs, 2 unusable input or cluster unreachable.")
        {
            catalogOpt, bootstrapOpt, applyOpt, zookeeperOpt, printOpt, replicationOpt, settingOpt,
        };
        topics.SetAction(parse => RunTopicsAsync(
            console,
            parse.GetValue(catalogOpt),
            parse.GetValue(bootstrapOpt),
            parse.GetValue(applyOpt),
            parse.GetValue(zookeeperOpt),
            parse.GetValue(printOpt),
            parse.GetValue(replicationOpt),
            parse.GetValue(settingOpt) ?? []));

        var perfBootstrapOpt = new Option<string>("--bootstrap") { Description = "Brokers as HOST:PORT[,HOST:PORT…]", Required = true };
        var topicOpt = new Option<string>("--topic") { Description = "An existing topic to write to and read back", DefaultValueFactory = _ => Topics.Readings };
        var recordsOpt = new Option<int>("--records") { Description = "Records to produce", DefaultValueFactory = _ => 200_000 };
        var sizeOpt = new Option<int>("--size") { Description = "Value size in bytes (a signed reading is about 200)", DefaultValueFactory = _ => 200 };
        var kafka09Opt = new Option<bool>("--kafka09") { Description = "Use the Kafka 0.9 broker profile" };
        var perf = new Command("perf", "Measure produce (acknowledged, pipelined) and consume throughput through GreenTrace's Kafka adapter. Exit 0 done, 2 unusable input or failure.")
        {
            perfBootstrapOpt, topicOpt, recordsOpt, sizeOpt, kafka09Opt, settingOpt,
        };
        perf.SetAction((parse, ct) => RunPerfAsync(console, parse.GetValue(perfBootstrapOpt)!, parse.GetValue(topicOpt)!, parse.GetValue(recordsOpt), parse.GetValue(sizeOpt), parse.GetValue(kafka09Opt), parse.GetValue(settingOpt) ?? [], ct));

        return new Command("kafka", "GreenTrace's streams on Apache Kafka.") { topics, perf };
    }

    public static async Task<int> RunPerfAsync(CliConsole console, string bootstrap, string topic, int records, int size, bool kafka09, IReadOnlyList<string> settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        if (records < 1 || size < 1)
            return await Usage(console, "--records and --size must be positive").ConfigureAwait(false);
        var options = new KafkaOptions { BootstrapServers = bootstrap, BrokerProfile = kafka09 ? KafkaBrokerProfile.Kafka09 : KafkaBrokerProfile.Modern };
        foreach (var setting in settings)
        {
            var eq = setting.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                return await Usage(console, $"--set '{setting}' is not KEY=VALUE").ConfigureAwait(false);
            options.Client[setting[..eq].Trim()] = setting[(eq + 1)..];
        }
        var factory = new KafkaStreamClientFactory(options);
        var value = new byte[size];
        Random.Shared.NextBytes(value);
        var run = Guid.NewGuid().ToString("N")[..8];
        try
        {
            // Pipelined as the gateway does: a window of calls in flight, each awaited for its acknowledgement.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using (var producer = factory.CreateProducer())
            {
                var window = new Queue<Task<StreamPosition>>();
                for (var i = 0; i < records; i++)
                {
                    window.Enqueue(producer.ProduceAsync(topic, $"perf-{run}-{i % 1000}", value, cancellationToken));
                    if (window.Count >= 20_000)
                        await window.Dequeue().ConfigureAwait(false);
                }
                while (window.Count > 0)
                    await window.Dequeue().ConfigureAwait(false);
            }
            var produced = clock.Elapsed;
            await console.Out.WriteLineAsync($"produced {records} records of {size} B, each acknowledged, in {produced.TotalSeconds:0.00} s: {records / produced.TotalSeconds:0} records/s").ConfigureAwait(false);

            clock.Restart();
            var read = 0;
            using (var consumer = factory.CreateConsumer($"perf-{run}", "perf"))
            {
                consumer.Subscribe([topic]);
                var idle = System.Diagnostics.Stopwatch.StartNew();
                while (idle.Elapsed < TimeSpan.FromSeconds(10))
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(200), cancellationToken) is not null)
                    {
                        read++;
                        idle.Restart();
                    }
                }
            }
            var consumed = clock.Elapsed - TimeSpan.FromSeconds(10);
            await console.Out.WriteLineAsync($"consumed {read} records (the whole topic, from the start) in {consumed.TotalSeconds:0.00} s: {read / consumed.TotalSeconds:0} records/s").ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is KafkaStreamException or Confluent.Kafka.KafkaException or InvalidOperationException)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }
    }

    public static async Task<int> RunTopicsAsync(CliConsole console, FileInfo? catalogFile, string? bootstrap, bool apply, string? zookeeper, bool printCommands, short? replicationFactor, IReadOnlyList<string> settings)
    {
        ArgumentNullException.ThrowIfNull(console);
        TopicCatalog catalog;
        try
        {
            catalog = catalogFile is null ? TopicCatalog.LoadDefault() : TopicCatalog.Parse(await File.ReadAllTextAsync(catalogFile.FullName).ConfigureAwait(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            await console.Error.WriteLineAsync($"error: topic catalog: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }
        var topics = new KafkaTopics(catalog);

        if (printCommands)
        {
            if (string.IsNullOrWhiteSpace(zookeeper))
                return await Usage(console, "--print-commands needs --zookeeper HOST:PORT").ConfigureAwait(false);
            if (replicationFactor is < 1)
                return await Usage(console, "--replication-factor must be at least 1").ConfigureAwait(false);
            foreach (var command in topics.CreateCommands(zookeeper, replicationFactor ?? 1))
                await console.Out.WriteLineAsync(command).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        if (!apply)
        {
            foreach (var t in catalog.Topics)
                await console.Out.WriteLineAsync($"{t.Name}\tpartitions={t.Partitions}\tretention.ms={KafkaTopics.RetentionMs(t.RetentionHours).ToString(CultureInfo.InvariantCulture)}").ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        if (string.IsNullOrWhiteSpace(bootstrap))
            return await Usage(console, "--apply needs --bootstrap HOST:PORT").ConfigureAwait(false);
        var options = new KafkaOptions { BootstrapServers = bootstrap };
        foreach (var setting in settings)
        {
            var eq = setting.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                return await Usage(console, $"--set '{setting}' is not KEY=VALUE").ConfigureAwait(false);
            options.Client[setting[..eq].Trim()] = setting[(eq + 1)..];
        }
        IReadOnlyList<TopicProvisioning> results;
        try
        {
            results = await topics.ApplyAsync(options, replicationFactor).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Confluent.Kafka.KafkaException or KafkaStreamException or ArgumentException or InvalidOperationException)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await console.Error.WriteLineAsync("A Kafka 0.9/0.10.0 broker cannot create topics through the protocol: use --zookeeper HOST:PORT --print-commands.").ConfigureAwait(false);
            return ExitCodes.Unusable;
        }
        foreach (var r in results)
        {
            var outcome = r.Outcome switch
            {
                TopicProvisioningOutcome.Created => "created",
                TopicProvisioningOutcome.AlreadyExists => "exists",
                _ => "MISMATCH",
            };
            await console.Out.WriteLineAsync($"{r.Name}\tpartitions={r.Partitions}\t{outcome}{(r.Detail is null ? "" : $" ({r.Detail})")}").ConfigureAwait(false);
        }
        return results.Any(r => r.Outcome == TopicProvisioningOutcome.PartitionMismatch) ? ExitCodes.Invalid : ExitCodes.Ok;
    }

    private static async Task<int> Usage(CliConsole console, string message)
    {
        await console.Error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
        return ExitCodes.Unusable;
    }
}
