using GreenTrace.Core.Checkpoints;

namespace GreenTrace.Core.Tests.Checkpoints;

/// <summary>Gathering cosignatures that arrive one node at a time into one note.</summary>
public sealed class SignedNoteMergeTests : IDisposable
{
    private const string Text = "greentrace.example/log\n42\nsome text\n";

    private readonly NoteSigner _alice = NoteSigner.Generate("alice.example");
    private readonly NoteSigner _bob = NoteSigner.Generate("bob.example");
    private readonly NoteSigner _carol = NoteSigner.Generate("carol.example");
    private readonly NoteSigner _mallory = NoteSigner.Generate("mallory.example");

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _carol.Dispose();
        _mallory.Dispose();
    }

    [Fact]
    public void MergingInAnyOrderGivesTheSameNoteCarryingEverySignatureOnce()
    {
        var a = SignedNote.Sign(Text, _alice);
        var b = SignedNote.Sign(Text, _bob);
        var c = SignedNote.Sign(Text, _carol);

        var abc = SignedNote.Merge([a, b, c]);
        var cba = SignedNote.Merge([SignedNote.Merge([c, b]), a, b]);

        Assert.Equal(abc, cba);
        Assert.Equal(abc, SignedNote.Merge([abc, a]));
        var opened = SignedNote.Open(abc, [_alice.Verifier, _bob.Verifier, _carol.Verifier]);
        Assert.True(opened.Success, opened.ToString());
        Assert.Equal(["alice.example", "bob.example", "carol.example"], opened.VerifiedBy);
        Assert.Equal(SignedNote.Sign(Text, _carol, _alice, _bob).Split('\n').Order(), abc.Split('\n').Order());
    }

    [Fact]
    public void LinesFromKeysOutsideTheKeptSetAreLeftOut()
    {
        var withMallory = SignedNote.AddSignatures(SignedNote.Sign(Text, _alice), _mallory);

        var merged = SignedNote.Merge([withMallory, SignedNote.Sign(Text, _bob)], [_alice.Verifier, _bob.Verifier]);

        Assert.DoesNotContain("mallory", merged, StringComparison.Ordinal);
        Assert.Equal(["alice.example", "bob.example"], SignedNote.Open(merged, [_alice.Verifier, _bob.Verifier, _mallory.Verifier]).VerifiedBy);
        Assert.Throws<ArgumentException>(() => SignedNote.Merge([SignedNote.Sign(Text, _mallory)], [_alice.Verifier]));
    }

    [Fact]
    public void NotesOverDifferentTextsOrMalformedOnesAreNotMerged()
    {
        var a = SignedNote.Sign(Text, _alice);

        Assert.Throws<ArgumentException>(() => SignedNote.Merge([a, SignedNote.Sign(Text.Replace("42", "43", StringComparison.Ordinal), _bob)]));
        Assert.Throws<FormatException>(() => SignedNote.Merge([a, "not a note"]));
        Assert.Throws<ArgumentException>(() => SignedNote.Merge([]));
    }
}
