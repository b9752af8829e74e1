using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim.Faults;

namespace GreenTrace.FirmwareSim;

/// <summary>A message in a meter's outbox, and whether it has been handed to the client once (so resends are not counted as new).</summary>
internal sealed class PendingMessage(MeterMessage message)
{
    public MeterMessage Message { get; } = message;

    public bool Sent { get; set; }
}

/// <summary>
/// One meter's store-and-forward buffer: every message is queued here before it is published and leaves only once
/// the broker has answered it (PUBACK), so what a meter could not deliver outlives the connection and, with a
/// directory, the process. Bounded: past the capacity the oldest message is dropped. Thread-safe.
/// </summary>
/// <remarks>
/// On disk it is an append-only log per meter: a header, then records of [u32 length][type + body][u32 CRC-32].
/// A message record holds the fault kind, the topic's meter id and the bytes; a "removed" record says how many of
/// the file's messages, oldest first, are done (acknowledged or dropped). Appending never rewrites what a crash
/// could tear; a torn or corrupt tail is cut off when the log is opened. The file is deleted when the last message
/// leaves, and rewritten with only the pending messages when removed ones make up most of it.
/// </remarks>
internal sealed class MeterOutbox
{
    private static readonly byte[] Header = "GTOB\u0001\0\0\0"u8.ToArray();
    private const byte MessageRecord = 1, RemovedRecord = 2;
    private const byte GenuineCode = 0xFF;
    private const int MaxRecordBytes = 1 << 24;
    private const int CompactAfterRemoved = 1024;

    private readonly Queue<PendingMessage> _pending = new();
    private readonly Lock _gate = new();
    private readonly string _meterId;
    private readonly int _capacity;
    private readonly string? _path;
    private readonly bool _flushToDisk;
    private long _messagesInFile;
    private long _removedInFile;

    private MeterOutbox(string meterId, int capacity, string? path, bool flushToDisk)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _meterId = meterId;
        _capacity = capacity;
        _path = path;
        _flushToDisk = flushToDisk;
    }

    public int Count
    {
        get
        {
            lock (_gate)
                return _pending.Count;
        }
    }

    /// <summary>The log file, or null for an outbox kept in memory only.</summary>
    public string? Path => _path;

    /// <summary>Messages found in the log when it was opened (left by an earlier run).</summary>
    public int Recovered { get; private set; }

    /// <summary>Messages dropped when the log was opened because it held more than the capacity.</summary>
    public int DroppedOnOpen { get; private set; }

    /// <summary>Bytes cut off the end of the log when it was opened, because a crash tore the last record.</summary>
    public long DiscardedTailBytes { get; private set; }

    public static MeterOutbox InMemory(string meterId, int capacity) => new(meterId, capacity, null, false);

    /// <summary>Opens (or starts) the meter's log in <paramref name="directory"/>, recovering what an earlier run left.</summary>
    /// <param name="flushToDisk">fsync every write (survives power loss, not just a crash of the process); slower.</param>
    public static MeterOutbox Open(string directory, string meterId, int capacity, bool flushToDisk)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var outbox = new MeterOutbox(meterId, capacity, System.IO.Path.Combine(directory, FileName(meterId)), flushToDisk);
        outbox.Load();
        return outbox;
    }

    /// <summary>
    /// The meter id, then a short hash of it so ids that differ only in case stay apart on case-insensitive file
    /// systems (meter ids are already safe file name characters).
    /// </summary>
    public static string FileName(string meterId) =>
        $"{meterId}.{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(meterId)).AsSpan(0, 4))}.outbox";

    /// <summary>Queues a message behind the others; returns how many old messages the capacity forced out.</summary>
    public int Enqueue(MeterMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            _pending.Enqueue(new PendingMessage(message));
            var dropped = 0;
            while (_pending.Count > _capacity)
            {
                _pending.Dequeue();
                dropped++;
            }
            if (_path is not null)
            {
                using var buffer = new MemoryStream();
                WriteRecord(buffer, MessageRecord, EncodeMessage(message));
                _messagesInFile++;
                if (dropped > 0)
                {
                    _removedInFile += dropped;
                    WriteRecord(buffer, RemovedRecord, EncodeRemoved(_removedInFile));
                }
                Append(buffer);
            }
            return dropped;
        }
    }

    /// <summary>The newest genuine reading waiting to be sent, if any.</summary>
    public Reading? NewestGenuine()
    {
        lock (_gate)
            return _pending.LastOrDefault(p => p.Message.Fault is null && p.Message.Reading is not null)?.Message.Reading;
    }

    public bool TryPeek(out PendingMessage pending)
    {
        lock (_gate)
            return _pending.TryPeek(out pending!);
    }

    /// <summary>Removes the oldest message, which the broker has answered.</summary>
    public void RemoveHead()
    {
        lock (_gate)
        {
            if (!_pending.TryDequeue(out _))
                throw new InvalidOperationException("the outbox is empty");
            if (_path is null)
                return;
            _removedInFile++;
            if (_pending.Count == 0)
            {
                File.Delete(_path);
                _messagesInFile = _removedInFile = 0;
            }
            else if (_removedInFile >= CompactAfterRemoved && _removedInFile >= _pending.Count)
            {
                Compact();
            }
            else
            {
                using var buffer = new MemoryStream();
                WriteRecord(buffer, RemovedRecord, EncodeRemoved(_removedInFile));
                Append(buffer);
            }
        }
    }

    private void Append(MemoryStream records)
    {
        using var file = new FileStream(_path!, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read, Options = FileOptions.None });
        if (file.Length == 0)
            file.Write(Header);
        records.Position = 0;
        records.CopyTo(file);
        file.Flush(_flushToDisk);
    }

    /// <summary>Rewrites the log with only the pending messages, replacing it atomically.</summary>
    private void Compact()
    {
        var temp = _path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            file.Write(Header);
            foreach (var pending in _pending)
                WriteRecord(file, MessageRecord, EncodeMessage(pending.Message));
            file.Flush(_flushToDisk);
        }
        File.Move(temp, _path!, overwrite: true);
        _messagesInFile = _pending.Count;
        _removedInFile = 0;
    }

    private void Load()
    {
        if (!File.Exists(_path))
            return;
        var messages = new List<MeterMessage>();
        long removed = 0, goodLength;
        using (var file = new FileStream(_path!, FileMode.Open, FileAccess.ReadWrite))
        {
            goodLength = ReadRecords(file, messages, ref removed);
            if (goodLength < file.Length)
            {
                DiscardedTailBytes = file.Length - goodLength;
                file.SetLength(goodLength);
                file.Flush(true);
            }
        }
        if (goodLength == 0)
        {
            File.Delete(_path!);
            return;
        }
        _messagesInFile = messages.Count;
        _removedInFile = Math.Min(removed, messages.Count);
        foreach (var message in messages.Skip((int)_removedInFile))
            _pending.Enqueue(new PendingMessage(message));
        // A smaller capacity than the run that wrote the log: the oldest go, as they would have then.
        while (_pending.Count > _capacity)
        {
            _pending.Dequeue();
            DroppedOnOpen++;
        }
        Recovered = _pending.Count;
        if (_pending.Count == 0)
        {
            File.Delete(_path!);
            _messagesInFile = _removedInFile = 0;
        }
        else if (DroppedOnOpen > 0)
        {
            Compact();
        }
    }

    /// <summary>Reads records until the end or the first torn one; returns the length of the intact prefix.</summary>
    private long ReadRecords(FileStream file, List<MeterMessage> messages, ref long removed)
    {
        Span<byte> header = stackalloc byte[Header.Length];
        if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header.SequenceEqual(Header))
            return 0;
        var good = file.Position;
        Span<byte> word = stackalloc byte[4];
        while (true)
        {
            if (file.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                return good;
            var length = BinaryPrimitives.ReadInt32LittleEndian(word);
            if (length is < 1 or > MaxRecordBytes)
                return good;
            var body = new byte[length];
            if (file.ReadAtLeast(body, length, throwOnEndOfStream: false) < length || file.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                return good;
            if (BinaryPrimitives.ReadUInt32LittleEndian(word) != Crc32.HashToUInt32(body))
                return good;
            switch (body[0])
            {
                case MessageRecord when DecodeMessage(body.AsSpan(1)) is { } message:
                    messages.Add(message);
                    break;
                case RemovedRecord when length == 9:
                    removed = Math.Max(removed, BinaryPrimitives.ReadInt64LittleEndian(body.AsSpan(1)));
                    break;
                default:
                    return good;
            }
            good = file.Position;
        }
    }

    private static void WriteRecord(Stream stream, byte type, byte[] content)
    {
        var body = new byte[content.Length + 1];
        body[0] = type;
        content.CopyTo(body, 1);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, body.Length);
        stream.Write(word);
        stream.Write(body);
        BinaryPrimitives.WriteUInt32LittleEndian(word, Crc32.HashToUInt32(body));
        stream.Write(word);
    }

    private static byte[] EncodeMessage(MeterMessage message)
    {
        var topic = Encoding.ASCII.GetBytes(message.TopicMeterId);
        var content = new byte[2 + topic.Length + message.Payload.Length];
        content[0] = message.Fault is { } fault ? (byte)fault : GenuineCode;
        content[1] = checked((byte)topic.Length);
        topic.CopyTo(content, 2);
        message.Payload.CopyTo(content, 2 + topic.Length);
        return content;
    }

    private MeterMessage? DecodeMessage(ReadOnlySpan<byte> content)
    {
        if (content.Length < 2 || content.Length < 2 + content[1])
            return null;
        FaultKind? fault = content[0] == GenuineCode ? null : (FaultKind)content[0];
        if (fault is { } kind && !Enum.IsDefined(kind))
            return null;
        var topic = Encoding.ASCII.GetString(content.Slice(2, content[1]));
        if (!MeterId.IsValid(topic))
            return null;
        var payload = content[(2 + content[1])..].ToArray();
        var decoded = ReadingCodec.Decode(payload);
        // The publisher id is the outbox's own meter: a meter's outbox only ever holds what its client sends.
        return new MeterMessage(_meterId, topic, payload, fault, decoded.IsOk ? decoded.Value.Reading : null);
    }

    private static byte[] EncodeRemoved(long count)
    {
        var content = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(content, count);
        return content;
    }
}
