using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using KafkaTopicPartition = Confluent.Kafka.TopicPartition;

namespace GreenTrace.Streaming.Kafka;

/// <summary>
/// A member of a Kafka consumer group. Offsets move only through <see cref="Commit"/>; the
/// <see cref="IPartitionListener"/> is called from inside <see cref="Consume"/>, on the caller's
/// thread, as librdkafka serves the rebalance. Like any Kafka consumer it is meant to be driven
/// by one thread.
/// </summary>
public sealed class KafkaStreamConsumer : IStreamConsumer
{
    /// <summary>How long one librdkafka poll may block, so cancellation is noticed promptly.</summary>
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    private readonly IConsumer<string, byte[]> _consumer;
    private readonly ILogger _logger;
    private readonly string _memberName;
    private IPartitionListener? _listener;
    private volatile Error? _fatal;
    private bool _subscribed;
    private bool _closing;
    private bool _disposed;

    public KafkaStreamConsumer(ConsumerConfig config, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _logger = logger ?? NullLogger.Instance;
        _memberName = config.ClientId ?? config.GroupId;
        _consumer = new ConsumerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => OnError(error))
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            // With the cooperative protocol these lists are increments; with an eager one, the whole assignment.
            .SetPartitionsAssignedHandler((_, partitions) => Notify(partitions, "assigned", (l, p) => l.OnAssigned(p)))
            .SetPartitionsRevokedHandler((_, partitions) => Notify(partitions.Select(p => p.TopicPartition), "revoked", (l, p) => l.OnRevoked(p)))
            .SetPartitionsLostHandler((_, partitions) => Notify(partitions.Select(p => p.TopicPartition), "lost", (l, p) => l.OnLost(p)))
            .Build();
    }

    public IReadOnlyCollection<Streaming.TopicPartition> Assignment
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _consumer.Assignment.Select(ToStream).ToArray();
        }
    }

    /// <summary>librdkafka's group member id, once joined (for diagnostics).</summary>
    public string MemberId => _consumer.MemberId;

    public void Subscribe(IReadOnlyCollection<string> topics, IPartitionListener? listener = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(topics);
        if (_subscribed)
            throw new InvalidOperationException("already subscribed");
        if (topics.Count == 0)
            throw new ArgumentException("subscribe to at least one topic", nameof(topics));
        _listener = listener;
        _consumer.Subscribe(topics);
        _subscribed = true;
    }

    public StreamRecord? Consume(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_subscribed)
            throw new InvalidOperationException("subscribe first");
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), "timeout must be non-negative or infinite");
        var infinite = timeout == Timeout.InfiniteTimeSpan;
        var deadline = infinite ? long.MaxValue : Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfFatal();
            var remaining = infinite ? Slice : TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));
            var wait = remaining < Slice ? remaining : Slice;
            ConsumeResult<string, byte[]>? result = null;
            try
            {
                result = _consumer.Consume(wait);
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                // E.g. a subscribed topic that does not exist (yet); librdkafka keeps trying.
                _logger.LogWarning("Kafka consumer {Member}: {Reason} ({Code})", _memberName, e.Error.Reason, e.Error.Code);
            }
            catch (ConsumeException e)
            {
                throw new KafkaStreamException($"consumer '{_memberName}' failed fatally: {e.Error.Reason} ({e.Error.Code})", e);
            }
            if (result is { IsPartitionEOF: false, Message: { } message })
            {
                var timestamp = message.Timestamp.Type == TimestampType.NotAvailable
                    ? DateTimeOffset.UnixEpoch // 0.9 brokers store no timestamps
                    : new DateTimeOffset(message.Timestamp.UtcDateTime, TimeSpan.Zero);
                return new StreamRecord(result.Topic, result.Partition.Value, result.Offset.Value, message.Key ?? "", message.Value ?? [], timestamp);
            }
            if (!infinite && Environment.TickCount64 >= deadline)
                return null;
        }
    }

    public void Commit(IEnumerable<StreamPosition> nextOffsets)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(nextOffsets);
        if (!_subscribed)
            throw new InvalidOperationException("subscribe first");
        var offsets = nextOffsets.ToList();
        if (offsets.Count == 0)
            return;
        // A Kafka broker (before KIP-848) takes a commit for any partition from any current member;
        // refuse here what this member does not own, or it could move another member's offsets.
        var owned = _consumer.Assignment.Select(ToStream).ToHashSet();
        foreach (var p in offsets)
        {
            if (!owned.Contains(p.TopicPartition))
                throw new InvalidOperationException($"{p.TopicPartition} is not assigned to '{_memberName}'; nothing committed");
            if (p.Offset < 0)
                throw new ArgumentOutOfRangeException(nameof(nextOffsets), $"offset {p.Offset} for {p.TopicPartition} is negative");
        }
        ThrowIfFatal();
        try
        {
            _consumer.Commit(offsets.Select(p => new TopicPartitionOffset(p.Topic, p.Partition, p.Offset)));
        }
        catch (TopicPartitionOffsetException e)
        {
            var failed = string.Join(", ", e.Results.Where(r => r.Error.IsError).Select(r => $"{r.TopicPartition}: {r.Error.Reason}"));
            throw new InvalidOperationException($"the group refused the commit of '{_memberName}' ({failed})", e);
        }
        catch (KafkaException e) when (IsMembershipError(e.Error.Code))
        {
            // The group rebalanced under us: these partitions may be another member's now.
            throw new InvalidOperationException($"the group refused the commit of '{_memberName}': {e.Error.Reason} ({e.Error.Code})", e);
        }
        catch (KafkaException e)
        {
            throw new KafkaStreamException($"commit of '{_memberName}' failed: {e.Error.Reason} ({e.Error.Code})", e);
        }
    }

    /// <summary>Leaves the group cleanly (the listener's OnRevoked runs for what it holds), so the others take over at once.</summary>
    public void Dispose()
    {
        if (_disposed || _closing)
            return;
        // Not yet disposed while closing: Close runs the listener's OnRevoked, which commits.
        _closing = true;
        try
        {
            if (_subscribed)
                _consumer.Close();
        }
        catch (Exception e) when (e is KafkaException or KafkaStreamException or InvalidOperationException)
        {
            // Typically the listener's last commit refused because the group is rebalancing: those
            // records are read again by the next owner, which effectively-once processing absorbs.
            _logger.LogWarning(e, "Kafka consumer {Member} did not leave its group cleanly: {Reason}", _memberName, e.Message);
        }
        finally
        {
            _disposed = true;
            _consumer.Dispose();
        }
    }

    private static Streaming.TopicPartition ToStream(KafkaTopicPartition tp) => new(tp.Topic, tp.Partition.Value);

    private static bool IsMembershipError(ErrorCode code) =>
        code is ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.RebalanceInProgress
            or ErrorCode.FencedInstanceId or ErrorCode.Local_State;

    private void Notify(IEnumerable<KafkaTopicPartition> partitions, string what, Action<IPartitionListener, IReadOnlyCollection<Streaming.TopicPartition>> call)
    {
        var list = partitions.Select(ToStream).ToArray();
        if (list.Length == 0)
            return; // cooperative rebalances report empty increments; nothing changed for this member
        _logger.LogInformation("Kafka consumer {Member} {What} {Partitions}", _memberName, what, string.Join(", ", list));
        if (_listener is { } listener)
            call(listener, list);
    }

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            _fatal = error;
            _logger.LogCritical("Kafka consumer {Member} failed fatally: {Reason} ({Code})", _memberName, error.Reason, error.Code);
        }
        else
        {
            _logger.LogWarning("Kafka consumer {Member}: {Reason} ({Code})", _memberName, error.Reason, error.Code);
        }
    }

    private void ThrowIfFatal()
    {
        if (_fatal is { } fatal)
            throw new KafkaStreamException($"consumer '{_memberName}' failed fatally and must be recreated: {fatal.Reason} ({fatal.Code})");
    }
}
