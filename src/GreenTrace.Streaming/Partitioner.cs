using System.IO.Hashing;
using System.Text;

namespace GreenTrace.Streaming;

/// <summary>
/// Key to partition as librdkafka's default ("consistent_random": CRC32 of the key), so the
/// embedded log and a Kafka deployment put a meter on the same partition.
/// </summary>
public static class Partitioner
{
    public static int PartitionFor(string key, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(key) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(key, buffer)] : Encoding.UTF8.GetBytes(key);
        return (int)(Crc32.HashToUInt32(bytes) % (uint)partitionCount);
    }
}
