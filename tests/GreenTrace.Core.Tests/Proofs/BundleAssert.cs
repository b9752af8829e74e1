using GreenTrace.Core.Proofs;

namespace GreenTrace.Core.Tests.Proofs;

/// <summary>What the reading and certificate bundle tests both check and both tamper with.</summary>
internal static class BundleAssert
{
    /// <summary>The bundle fails at <paramref name="step"/>, after every earlier step of <paramref name="order"/> passed in order, and nothing after it ran.</summary>
    public static T FailsAt<T>(string[] order, string step, T report)
        where T : IStepReport
    {
        Assert.False(report.IsValid);
        Assert.NotNull(report.FirstFailure);
        Assert.True(step == report.FirstFailure.Step, $"expected failure at {step}, got {report.FirstFailure.Step}: {report.FirstFailure.Detail}");
        Assert.Equal(order[..(Array.IndexOf(order, step) + 1)], report.Steps.Select(s => s.Step));
        Assert.All(report.Steps.SkipLast(1), s => Assert.True(s.Passed, s.Step));
        Assert.False(string.IsNullOrWhiteSpace(report.FirstFailure.Detail));
        return report;
    }

    /// <summary>The leaf with one bit of proof hash <paramref name="hash"/> flipped.</summary>
    public static ProvenLeaf FlipProofHash(ProvenLeaf leaf, int hash = 0)
    {
        var proof = leaf.Proof.ToArray();
        var bytes = Hex.Decode(proof[hash]);
        bytes[^1] ^= 0x01;
        proof[hash] = Hex.Encode(bytes);
        return leaf with { Proof = proof };
    }
}
