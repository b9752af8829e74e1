using System.IO.Hashing;
using System.Text;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Streaming;

public sealed class PartitionerTests
{
    [Fact]
    public void IsTheStandardCrc32OfTheUtf8KeyModuloThePartitionCount()
    {
        // "123456789" is CRC-32's published check value (0xCBF43926), as librdkafka's consistent_random computes it.
        Assert.Equal(0xCBF43926u, Crc32.HashToUInt32("123456789"u8));
        Assert.Equal((int)(0xCBF43926u % 12), Partitioner.PartitionFor("123456789", 12));

        foreach (var key in new[] { "meter-0001", "zähler-ä", new string('m', 300) })
        {
            foreach (var n in new[] { 1, 3, 6, 64 })
            {
                var expected = (int)(Crc32.HashToUInt32(Encoding.UTF8.GetBytes(key)) % (uint)n);
                Assert.Equal(expected, Partitioner.PartitionFor(key, n));
            }
        }
    }

    [Fact]
    public void IsStableAndInRange()
    {
        for (var i = 0; i < 500; i++)
        {
            var key = $"meter-{i}";
            var first = Partitioner.PartitionFor(key, 7);
            Assert.InRange(first, 0, 6);
            Assert.Equal(first, Partitioner.PartitionFor(new string(key.ToCharArray()), 7));
        }
    }

    [Fact]
    public void SpreadsKeysOverAllPartitions()
    {
        var used = Enumerable.Range(0, 200).Select(i => Partitioner.PartitionFor($"meter-{i}", 8)).Distinct().Count();
        Assert.Equal(8, used);
    }

    [Fact]
    public void RefusesAPartitionCountBelowOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.PartitionFor("k", 0));
    }
}
