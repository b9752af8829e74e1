using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>
/// librdkafka's mock cluster: N in-memory brokers on 127.0.0.1 speaking the real protocol over
/// TCP, with idempotent producers and consumer groups, whose brokers a test can take down and
/// bring back. Loaded by P/Invoke from the very librdkafka Confluent.Kafka loaded (on Debian 12
/// its centos8 build, since libsasl2.so.3 is missing), found in this process's memory map: a
/// second copy of the library would have its own, unrelated state.
/// </summary>
public sealed class MockCluster : IDisposable
{
    private static readonly UIntPtr ErrstrSize = 512;

    private readonly IntPtr _library;
    private readonly IntPtr _host;
    private IntPtr _cluster;

    public MockCluster(int brokers)
    {
        _library = NativeLibrary.Load(LoadedLibrdkafka());
        var errstr = new StringBuilder((int)ErrstrSize);
        var conf = Fn<ConfNew>("rd_kafka_conf_new")();
        // The host handle has no bootstrap servers of its own and would say so on stderr.
        if (Fn<ConfSet>("rd_kafka_conf_set")(conf, "log_level", "3", errstr, ErrstrSize) != 0)
            throw new InvalidOperationException($"rd_kafka_conf_set failed: {errstr}");
        // The mock cluster lives on a client handle's threads; this handle only hosts it.
        _host = Fn<KafkaNew>("rd_kafka_new")(0, conf, errstr, ErrstrSize);
        if (_host == IntPtr.Zero)
            throw new InvalidOperationException($"rd_kafka_new failed: {errstr}");
        _cluster = Fn<ClusterNew>("rd_kafka_mock_cluster_new")(_host, brokers);
        if (_cluster == IntPtr.Zero)
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        BootstrapServers = Marshal.PtrToStringUTF8(Fn<ClusterBootstraps>("rd_kafka_mock_cluster_bootstraps")(_cluster))!;
        Brokers = brokers;
    }

    private delegate IntPtr ConfNew();

    private delegate int ConfSet(IntPtr conf, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, StringBuilder errstr, UIntPtr errstrSize);

    private delegate IntPtr KafkaNew(int type, IntPtr conf, StringBuilder errstr, UIntPtr errstrSize);

    private delegate void KafkaDestroy(IntPtr rk);

    private delegate IntPtr ClusterNew(IntPtr rk, int brokerCount);

    private delegate void ClusterDestroy(IntPtr cluster);

    private delegate IntPtr ClusterBootstraps(IntPtr cluster);

    private delegate int TopicCreate(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replicationFactor);

    private delegate int PartitionSetLeader(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partition, int brokerId);

    private delegate int BrokerSet(IntPtr cluster, int brokerId);

    public string BootstrapServers { get; }

    /// <summary>Broker ids are 1 … Brokers.</summary>
    public int Brokers { get; }

    /// <summary>The path of the librdkafka Confluent.Kafka has loaded (loading it first if need be).</summary>
    public static string LoadedLibrdkafka()
    {
        if (!Library.IsLoaded)
            Library.Load(); // the way Confluent.Kafka always loads it, fallbacks included
        var mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[5].Contains("librdkafka", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .Distinct()
            .ToList();
        return mapped.Count == 1
            ? mapped[0]
            : throw new InvalidOperationException($"expected one librdkafka mapped in this process, found: {string.Join(", ", mapped)}");
    }

    /// <summary>Clients with the production (Modern) profile; GREENTRACE_KAFKA_TEST_DEBUG adds librdkafka's debug contexts to the test log.</summary>
    public KafkaStreamClientFactory Factory(Action<KafkaOptions>? configure = null)
    {
        var options = new KafkaOptions { BootstrapServers = BootstrapServers };
        // The mock coordinator holds every JoinGroup round open for about the session timeout
        // (seen: 44 s of librdkafka's 45 s) before it answers, where a real broker answers once
        // all members have rejoined; a short session keeps each rebalance to a few seconds.
        options.Consumer["session.timeout.ms"] = "6000";
        options.Consumer["heartbeat.interval.ms"] = "500";
        if (Environment.GetEnvironmentVariable("GREENTRACE_KAFKA_TEST_DEBUG") is { Length: > 0 } debug)
            options.Client["debug"] = debug;
        configure?.Invoke(options);
        return new KafkaStreamClientFactory(options, KafkaTestLog.Factory);
    }

    public void CreateTopic(string topic, int partitions, int replicationFactor = 3) =>
        Check(Fn<TopicCreate>("rd_kafka_mock_topic_create")(_cluster, topic, partitions, replicationFactor), $"create {topic}");

    public void SetLeader(string topic, int partition, int brokerId) =>
        Check(Fn<PartitionSetLeader>("rd_kafka_mock_partition_set_leader")(_cluster, topic, partition, brokerId), $"move {topic}[{partition}] to broker {brokerId}");

    /// <summary>The broker closes its connections and refuses new ones.</summary>
    public void BrokerDown(int brokerId) => Check(Fn<BrokerSet>("rd_kafka_mock_broker_set_down")(_cluster, brokerId), $"take broker {brokerId} down");

    public void BrokerUp(int brokerId) => Check(Fn<BrokerSet>("rd_kafka_mock_broker_set_up")(_cluster, brokerId), $"bring broker {brokerId} up");

    public void Dispose()
    {
        if (_cluster != IntPtr.Zero)
        {
            Fn<ClusterDestroy>("rd_kafka_mock_cluster_destroy")(_cluster);
            _cluster = IntPtr.Zero;
            Fn<KafkaDestroy>("rd_kafka_destroy")(_host);
            NativeLibrary.Free(_library);
        }
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
            throw new InvalidOperationException($"mock cluster: could not {what}: {(ErrorCode)error}");
    }

    private T Fn<T>(string name)
        where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(_library, name));
}
