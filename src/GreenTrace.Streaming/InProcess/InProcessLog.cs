namespace GreenTrace.Streaming.InProcess;

/// <summary>
/// The embedded stand-in for Kafka: partitioned, ordered, append-only topics in memory, with
/// consumer groups, offsets and commits behaving as Kafka's do, so the stages above cannot tell
/// the difference. It is not durable across process restarts; that is what Kafka is for.
/// </summary>
public sealed class InProcessLog : IStreamClientFactory
{
    private readonly object _gate = new();
    private readonly Dictionary<string, List<StreamRecord>[]> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConsumerGroup> _groups = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public InProcessLog(IEnumerable<TopicSpec> topics, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(topics);
        _time = time ?? TimeProvider.System;
        foreach (var spec in topics)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(spec.Partitions, 1);
            var partitions = new List<StreamRecord>[spec.Partitions];
            for (var i = 0; i < partitions.Length; i++)
                partitions[i] = [];
            _topics.Add(spec.Name, partitions);
        }
    }

    public IReadOnlyCollection<TopicSpec> Topics
    {
        get
        {
            lock (_gate)
                return _topics.Select(t => new TopicSpec(t.Key, t.Value.Length)).ToArray();
        }
    }

    public IStreamProducer CreateProducer() => new Producer(this);

    public IStreamConsumer CreateConsumer(string groupId, string memberName) => new Member(this, groupId, memberName);

    /// <summary>Next offset to be written to a partition (Kafka's high watermark).</summary>
    public long EndOffset(TopicPartition tp)
    {
        lock (_gate)
            return Partitions(tp.Topic)[tp.Partition].Count;
    }

    public long? CommittedOffset(string groupId, TopicPartition tp)
    {
        lock (_gate)
            return _groups.TryGetValue(groupId, out var g) && g.Committed.TryGetValue(tp, out var o) ? o : null;
    }

    /// <summary>Every record of a topic, in partition then offset order; for inspection and tests.</summary>
    public IReadOnlyList<StreamRecord> ReadAll(string topic)
    {
        lock (_gate)
            return Partitions(topic).SelectMany(p => p).ToArray();
    }

    public int PartitionCount(string topic)
    {
        lock (_gate)
            return Partitions(topic).Length;
    }

    private List<StreamRecord>[] Partitions(string topic) =>
        _topics.TryGetValue(topic, out var p) ? p : throw new InvalidOperationException($"unknown topic '{topic}'");

    private StreamPosition Append(string topic, string key, ReadOnlyMemory<byte> value)
    {
        // Copy: the caller's buffer may be pooled, and a log never changes what it has stored.
        var copy = value.ToArray();
        lock (_gate)
        {
            var partitions = Partitions(topic);
            var partition = Partitioner.PartitionFor(key, partitions.Length);
            var list = partitions[partition];
            var record = new StreamRecord(topic, partition, list.Count, key, copy, _time.GetUtcNow());
            list.Add(record);
            Monitor.PulseAll(_gate);
            return record.Position;
        }
    }

    private sealed class Producer(InProcessLog log) : IStreamProducer
    {
        private bool _disposed;

        public Task<StreamPosition> ProduceAsync(string topic, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult(log.Append(topic, key, value));
        }

        public void Dispose() => _disposed = true;
    }

    private sealed class ConsumerGroup
    {
        public List<Member> Members { get; } = [];

        public Dictionary<TopicPartition, long> Committed { get; } = [];

        /// <summary>Who reads each partition now; a partition changes hands only once its owner has let go.</summary>
        public Dictionary<TopicPartition, Member> Owners { get; } = [];

        /// <summary>Bumped on every join and leave; members compare it to notice a rebalance.</summary>
        public int Generation { get; set; }
    }

    private sealed class Member : IStreamConsumer
    {
        private readonly InProcessLog _log;
        private readonly string _groupId;
        private readonly string _name;
        private readonly SortedDictionary<TopicPartition, long> _positions = new(Comparer<TopicPartition>.Create(Compare));
        private HashSet<TopicPartition> _target = [];
        private string[] _topics = [];
        private IPartitionListener? _listener;
        private ConsumerGroup? _group;
        private int _seenGeneration = -1;
        private int _next;
        private bool _disposed;

        public Member(InProcessLog log, string groupId, string name)
        {
            _log = log;
            _groupId = groupId;
            _name = name;
        }

        public IReadOnlyCollection<TopicPartition> Assignment
        {
            get
            {
                lock (_log._gate)
                    return _positions.Keys.ToArray();
            }
        }

        public void Subscribe(IReadOnlyCollection<string> topics, IPartitionListener? listener = null)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_log._gate)
            {
                if (_group is not null)
                    throw new InvalidOperationException("already subscribed");
                foreach (var t in topics)
                    _ = _log.Partitions(t);
                _topics = topics.ToArray();
                _listener = listener;
                if (!_log._groups.TryGetValue(_groupId, out _group))
                    _log._groups.Add(_groupId, _group = new ConsumerGroup());
                if (_group.Members.Any(m => m._name == _name))
                    throw new InvalidOperationException($"member '{_name}' is already in group '{_groupId}'");
                _group.Members.Add(this);
                _group.Generation++;
                Monitor.PulseAll(_log._gate);
            }
        }

        public StreamRecord? Consume(TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_group is null)
                throw new InvalidOperationException("subscribe first");
            if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(timeout), "timeout must be non-negative or infinite");
            var infinite = timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= int.MaxValue;
            var deadline = infinite ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            // Wake the wait when cancelled; the log's monitor is the only thing a consumer blocks on.
            using var wake = cancellationToken.Register(() =>
            {
                lock (_log._gate)
                    Monitor.PulseAll(_log._gate);
            });
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                TopicPartition[] revoked, assigned;
                lock (_log._gate)
                {
                    if (_group.Generation != _seenGeneration)
                        _target = TargetAssignment();
                    revoked = _positions.Keys.Where(tp => !_target.Contains(tp)).ToArray();
                    assigned = revoked.Length == 0 ? Claim() : [];
                    if (revoked.Length == 0 && assigned.Length == 0)
                    {
                        if (TryTakeNext(out var record))
                            return record;
                        var remaining = deadline - Environment.TickCount64;
                        if (remaining <= 0)
                            return null;
                        // Wake at least once a second: a cancellation pulse can land between the check above and the wait.
                        Monitor.Wait(_log._gate, TimeSpan.FromMilliseconds(Math.Min(remaining, 1000)));
                        continue;
                    }
                }
                // Callbacks run outside the lock: a listener commits, and may block on its own work.
                if (revoked.Length > 0)
                {
                    _listener?.OnRevoked(revoked);
                    lock (_log._gate)
                    {
                        foreach (var tp in revoked)
                        {
                            _positions.Remove(tp);
                            _group.Owners.Remove(tp);
                        }
                        Monitor.PulseAll(_log._gate);
                    }
                }
                if (assigned.Length > 0)
                    _listener?.OnAssigned(assigned);
            }
        }

        public void Commit(IEnumerable<StreamPosition> nextOffsets)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_log._gate)
            {
                if (_group is null)
                    throw new InvalidOperationException("subscribe first");
                foreach (var p in nextOffsets)
                {
                    // As Kafka does for a stale generation: a member may commit only what it owns.
                    if (!_positions.ContainsKey(p.TopicPartition))
                        throw new InvalidOperationException($"{p.TopicPartition} is not assigned to '{_name}'");
                    _group.Committed[p.TopicPartition] = p.Offset;
                }
            }
        }

        /// <summary>Leaving without a goodbye, as a crashed member does: what it did not commit is read again by the next owner.</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            lock (_log._gate)
            {
                if (_group is not null && _group.Members.Remove(this))
                {
                    foreach (var tp in _positions.Keys)
                        _group.Owners.Remove(tp);
                    _positions.Clear();
                    _group.Generation++;
                    Monitor.PulseAll(_log._gate);
                }
            }
        }

        private static int Compare(TopicPartition a, TopicPartition b)
        {
            var c = string.CompareOrdinal(a.Topic, b.Topic);
            return c != 0 ? c : a.Partition.CompareTo(b.Partition);
        }

        private HashSet<TopicPartition> TargetAssignment()
        {
            var group = _group!;
            _seenGeneration = group.Generation;
            var members = group.Members.OrderBy(m => m._name, StringComparer.Ordinal).ToList();
            var me = members.IndexOf(this);
            var all = _topics.OrderBy(t => t, StringComparer.Ordinal)
                .SelectMany(t => Enumerable.Range(0, _log.Partitions(t).Length).Select(p => new TopicPartition(t, p)))
                .ToList();
            var target = new HashSet<TopicPartition>();
            for (var i = 0; i < all.Count; i++)
            {
                if (i % members.Count == me)
                    target.Add(all[i]);
            }
            return target;
        }

        /// <summary>Takes the target partitions nobody holds any more, resuming each at the group's committed offset.</summary>
        private TopicPartition[] Claim()
        {
            var group = _group!;
            var claimed = new List<TopicPartition>();
            foreach (var tp in _target)
            {
                if (_positions.ContainsKey(tp) || group.Owners.ContainsKey(tp))
                    continue;
                group.Owners[tp] = this;
                _positions[tp] = group.Committed.TryGetValue(tp, out var committed) ? committed : 0;
                claimed.Add(tp);
            }
            return claimed.ToArray();
        }

        private bool TryTakeNext(out StreamRecord? record)
        {
            // Round robin over partitions so one busy partition cannot starve the others.
            var owned = _positions.Keys.ToArray();
            for (var i = 0; i < owned.Length; i++)
            {
                var tp = owned[(_next + i) % owned.Length];
                var list = _log.Partitions(tp.Topic)[tp.Partition];
                var position = _positions[tp];
                if (position < list.Count)
                {
                    record = list[(int)position];
                    _positions[tp] = position + 1;
                    _next = (_next + i + 1) % owned.Length;
                    return true;
                }
            }
            record = null;
            return false;
        }
    }
}
