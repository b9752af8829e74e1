using System.Diagnostics;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>A member joining and leaving a group, checked through the listener calls; shared by the 0.9 broker and the mock cluster.</summary>
internal static class Rebalancing
{
    private static readonly Comparer<TopicPartition> ByPartition = Comparer<TopicPartition>.Create((x, y) => x.Partition.CompareTo(y.Partition));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// With cooperative-sticky: A alone holds all four partitions; B joins and A gives up exactly
    /// the two B takes (never its own); B leaves cleanly and A takes them back without losing any.
    /// </summary>
    public static async Task JoinAndLeaveMoveOnlyWhatMustMove(IStreamClientFactory factory, string topic)
    {
        var group = $"aggregators-{Guid.NewGuid():N}";
        var listenerA = new Listener();
        using var a = factory.CreateConsumer(group, "member-a");
        a.Subscribe([topic], listenerA);
        await PollUntil(() => a.Assignment.Count == 4, "A holds all four partitions", a);
        Assert.Equal(Enumerable.Range(0, 4).Select(p => new TopicPartition(topic, p)), listenerA.Assigned.Order(ByPartition));

        var listenerB = new Listener();
        var b = factory.CreateConsumer(group, "member-b");
        b.Subscribe([topic], listenerB);
        await PollUntil(() => a.Assignment.Count == 2 && b.Assignment.Count == 2, "A and B hold two each", a, b);

        Assert.Equal(b.Assignment.Order(ByPartition), listenerA.Revoked.Order(ByPartition));
        Assert.Empty(listenerA.Revoked.Intersect(a.Assignment));
        Assert.Equal(b.Assignment.Order(ByPartition), listenerB.Assigned.Order(ByPartition));
        Assert.Equal(4, listenerA.Assigned.Count); // nothing of A's was revoked and handed back

        var revokedBefore = listenerA.Revoked.Count;
        var heldByB = b.Assignment.Order(ByPartition).ToList();
        b.Dispose();
        Assert.Equal(heldByB, listenerB.Revoked.Order(ByPartition)); // leaving revokes, so a member commits on the way out
        await PollUntil(() => a.Assignment.Count == 4, "A holds all four again", a);
        Assert.Equal(revokedBefore, listenerA.Revoked.Count);
        Assert.Equal(heldByB, listenerA.Assigned.Skip(4).Order(ByPartition));
        Assert.Empty(listenerA.Lost);
        Assert.Empty(listenerB.Lost);
    }

    private static async Task PollUntil(Func<bool> condition, string what, params IStreamConsumer[] members)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"gave up waiting until {what}");
            foreach (var member in members)
                Assert.Null(member.Consume(TimeSpan.FromMilliseconds(100), Ct));
            await Task.Yield();
        }
    }

    private sealed class Listener : IPartitionListener
    {
        public List<TopicPartition> Assigned { get; } = [];

        public List<TopicPartition> Revoked { get; } = [];

        public List<TopicPartition> Lost { get; } = [];

        public void OnAssigned(IReadOnlyCollection<TopicPartition> partitions) => Assigned.AddRange(partitions);

        public void OnRevoked(IReadOnlyCollection<TopicPartition> partitions) => Revoked.AddRange(partitions);

        public void OnLost(IReadOnlyCollection<TopicPartition> partitions) => Lost.AddRange(partitions);
    }
}
