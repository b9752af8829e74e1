using System.Security.Cryptography;
using GreenTrace.Core.Checkpoints;

namespace GreenTrace.Core.Tests.Checkpoints;

public sealed class CheckpointVerifierTests : IDisposable
{
    private const string Origin = "greentrace.example/ledger";

    private readonly NoteSigner[] _nodes = [.. Enumerable.Range(1, 4).Select(i => NoteSigner.Generate($"node{i}.greentrace.example"))];
    private readonly NoteSigner _outsider = NoteSigner.Generate("outsider.example");
    private readonly string _text = new Checkpoint(Origin, 7, SHA256.HashData("tree"u8)).ToNoteText();

    private NoteVerifier[] Trusted => [.. _nodes.Select(n => n.Verifier)];

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        _outsider.Dispose();
    }

    [Fact]
    public void QuorumOfDistinctTrustedNodesSucceeds()
    {
        var note = SignedNote.Sign(_text, _nodes[0], _nodes[1], _nodes[2]);

        var result = CheckpointVerifier.Verify(note, Origin, Trusted, 3);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(7, result.Checkpoint.Size);
        Assert.Equal(3, result.TrustedSignatureCount);
        Assert.Equal([_nodes[0].Name, _nodes[1].Name, _nodes[2].Name], result.TrustedSigners);
    }

    [Fact]
    public void TooFewSignersFailsWithCounts()
    {
        var note = SignedNote.Sign(_text, _nodes[0], _nodes[1]);

        var result = CheckpointVerifier.Verify(note, Origin, Trusted, 3);

        Assert.False(result.Success);
        Assert.Null(result.Checkpoint);
        Assert.Equal(CheckpointVerificationErrors.Quorum, result.Error);
        Assert.Equal(2, result.TrustedSignatureCount);
        Assert.Equal(3, result.Quorum);
        Assert.Contains("2 of 3", result.ErrorDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void SameNodeSigningTwiceCountsOnce()
    {
        var note = SignedNote.Sign(_text, _nodes[0], _nodes[1]);
        var duplicate = note[note.IndexOf('\u2014')..note.IndexOf('\n', note.IndexOf('\u2014'))] + "\n";

        var result = CheckpointVerifier.Verify(note + duplicate, Origin, Trusted, 3);

        Assert.Equal(CheckpointVerificationErrors.Quorum, result.Error);
        Assert.Equal(2, result.TrustedSignatureCount);
    }

    [Fact]
    public void NodeWithTwoKeysCountsOnce()
    {
        // A node is its name: a second key (e.g. mid-rotation) must not let one node meet a quorum of two.
        using var rotated = NoteSigner.Generate(_nodes[0].Name);
        var note = SignedNote.Sign(_text, _nodes[0], rotated);

        var result = CheckpointVerifier.Verify(note, Origin, [.. Trusted, rotated.Verifier], 2);

        Assert.Equal(CheckpointVerificationErrors.Quorum, result.Error);
        Assert.Equal(1, result.TrustedSignatureCount);
    }

    [Fact]
    public void UntrustedKeyDoesNotCount()
    {
        var note = SignedNote.Sign(_text, _nodes[0], _outsider);

        Assert.Equal(CheckpointVerificationErrors.Quorum, CheckpointVerifier.Verify(note, Origin, Trusted, 2).Error);
        Assert.True(CheckpointVerifier.Verify(note, Origin, Trusted, 1).Success);
    }

    [Fact]
    public void NoTrustedSignatureIsAQuorumFailure()
    {
        var note = SignedNote.Sign(_text, _outsider);

        var result = CheckpointVerifier.Verify(note, Origin, Trusted, 1);

        Assert.Equal(CheckpointVerificationErrors.Quorum, result.Error);
        Assert.Equal(0, result.TrustedSignatureCount);
    }

    [Fact]
    public void WrongOriginFails()
    {
        var note = SignedNote.Sign(_text, _nodes[0], _nodes[1]);
        Assert.Equal(CheckpointVerificationErrors.Origin, CheckpointVerifier.Verify(note, "greentrace.example/other", Trusted, 1).Error);
    }

    [Fact]
    public void BadSignatureFromTrustedNodeFails()
    {
        var note = SignedNote.Sign(_text, _nodes[0], _nodes[1], _nodes[2]);
        var tampered = note.Replace("\n7\n", "\n8\n", StringComparison.Ordinal);

        Assert.Equal(CheckpointVerificationErrors.Signature, CheckpointVerifier.Verify(tampered, Origin, Trusted, 1).Error);
    }

    [Fact]
    public void MalformedNoteOrCheckpointFails()
    {
        Assert.Equal(CheckpointVerificationErrors.Malformed, CheckpointVerifier.Verify(_text, Origin, Trusted, 1).Error);

        var notACheckpoint = SignedNote.Sign("just some text\n", _nodes[0]);
        Assert.Equal(CheckpointVerificationErrors.Malformed, CheckpointVerifier.Verify(notACheckpoint, Origin, Trusted, 1).Error);
    }

    [Fact]
    public void RejectsBadConfiguration()
    {
        var note = SignedNote.Sign(_text, _nodes[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => CheckpointVerifier.Verify(note, Origin, Trusted, 0));

        var impostor = NoteVerifier.CreateWithKeyId(_nodes[0].Name, _nodes[0].KeyId, RandomNumberGenerator.GetBytes(32));
        Assert.Throws<ArgumentException>(() => CheckpointVerifier.Verify(note, Origin, [.. Trusted, impostor], 1));

        // Listing the same key twice is harmless.
        Assert.True(CheckpointVerifier.Verify(note, Origin, [.. Trusted, _nodes[0].Verifier], 1).Success);
    }
}
