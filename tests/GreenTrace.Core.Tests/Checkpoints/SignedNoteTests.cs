using GreenTrace.Core.Checkpoints;

namespace GreenTrace.Core.Tests.Checkpoints;

public sealed class SignedNoteTests : IDisposable
{
    private const string Text = "greentrace.example/log\n42\nsome text\n";

    private readonly NoteSigner _alice = NoteSigner.Generate("alice.example");
    private readonly NoteSigner _bob = NoteSigner.Generate("bob.example");
    private readonly NoteSigner _mallory = NoteSigner.Generate("mallory.example");

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _mallory.Dispose();
    }

    [Fact]
    public void SignThenOpenRoundTrips()
    {
        var note = SignedNote.Sign(Text, _alice, _bob);

        var result = SignedNote.Open(note, [_alice.Verifier, _bob.Verifier]);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(Text, result.Text);
        Assert.Equal(["alice.example", "bob.example"], result.VerifiedBy);
        Assert.Null(result.Error);
        Assert.StartsWith(Text + "\n\u2014 alice.example ", note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("one line\n")]
    [InlineData("blank\n\nlines\n\n")]
    [InlineData("unicode é 🌱\n")]
    public void UnusualButValidTextsRoundTrip(string text)
    {
        var result = SignedNote.Open(SignedNote.Sign(text, _alice), [_alice.Verifier]);
        Assert.True(result.Success, result.ToString());
        Assert.Equal(text, result.Text);
    }

    [Fact]
    public void TamperedTextFails()
    {
        var note = SignedNote.Sign(Text, _alice);
        var tampered = note.Replace("42", "43", StringComparison.Ordinal);

        var result = SignedNote.Open(tampered, [_alice.Verifier]);

        Assert.False(result.Success);
        Assert.Equal(NoteOpenErrors.InvalidSignature, result.Error);
        Assert.Null(result.Text);
        Assert.Empty(result.VerifiedBy);
    }

    [Fact]
    public void SignatureByUnknownKeyIsIgnored()
    {
        var note = SignedNote.Sign(Text, _mallory, _alice);

        var result = SignedNote.Open(note, [_alice.Verifier]);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(["alice.example"], result.VerifiedBy);
        Assert.Equal(1, result.UnknownSignatureCount);
    }

    [Fact]
    public void InvalidSignatureFromKnownKeyFailsEvenWhenAnotherVerifies()
    {
        var aliceNote = SignedNote.Sign(Text, _alice);
        var bobOnOtherText = SignedNote.Sign("other\n", _bob);
        var bobLine = bobOnOtherText[(bobOnOtherText.IndexOf('\u2014'))..];

        var result = SignedNote.Open(aliceNote + bobLine, [_alice.Verifier, _bob.Verifier]);

        Assert.Equal(NoteOpenErrors.InvalidSignature, result.Error);
        Assert.Contains("bob.example", result.ErrorDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateSignatureFromKnownKeyIsVerifiedEveryTime()
    {
        // Go skips a repeated signature by an already-seen key without checking it; we check it.
        var note = SignedNote.Sign(Text, _alice);
        var line = note[note.IndexOf('\u2014')..];
        var otherNote = SignedNote.Sign("other\n", _alice);
        var otherLine = otherNote[otherNote.IndexOf('\u2014')..];

        Assert.True(SignedNote.Open(note + line, [_alice.Verifier]).Success);
        Assert.Equal(NoteOpenErrors.InvalidSignature, SignedNote.Open(note + otherLine, [_alice.Verifier]).Error);
    }

    [Fact]
    public void WrongKeyIdMakesSignatureUnknown()
    {
        // Same name, different key: the (name, ID) pair is unknown, so it is ignored rather than failed.
        using var aliceOtherKey = NoteSigner.Generate("alice.example");
        var note = SignedNote.Sign(Text, aliceOtherKey);

        var result = SignedNote.Open(note, [_alice.Verifier]);

        Assert.Equal(NoteOpenErrors.NoKnownSignature, result.Error);
        Assert.Equal(1, result.UnknownSignatureCount);
    }

    [Fact]
    public void SignatureLineWithRewrittenKeyIdIsUnknown()
    {
        var note = SignedNote.Sign(Text, _alice);
        var prefix = note[..(note.IndexOf('\u2014') + "\u2014 alice.example ".Length)];
        var payload = Convert.FromBase64String(note[prefix.Length..^1]);
        payload[0] ^= 0x01;

        var result = SignedNote.Open(prefix + Convert.ToBase64String(payload) + "\n", [_alice.Verifier]);

        Assert.Equal(NoteOpenErrors.NoKnownSignature, result.Error);
    }

    [Fact]
    public void NoteWithoutSignaturesIsMalformed()
    {
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(Text + "\n", [_alice.Verifier]).Error);
        Assert.Throws<ArgumentException>(() => SignedNote.Sign(Text));
    }

    [Fact]
    public void MissingBlankLineIsMalformed()
    {
        var note = SignedNote.Sign(Text, _alice).Replace("\n\n", "\n", StringComparison.Ordinal);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note, [_alice.Verifier]).Error);
    }

    [Theory]
    [InlineData("AAAA AAAA")]
    [InlineData("!!!!")]
    [InlineData("AAA")]
    [InlineData("")]
    [InlineData("AAAAAA==")]
    public void MalformedBase64IsMalformed(string base64)
    {
        var note = Text + "\n\u2014 alice.example " + base64 + "\n";
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note, [_alice.Verifier]).Error);
    }

    [Fact]
    public void NonCanonicalBase64IsMalformed()
    {
        // The signature payload is 68 bytes, so its last base64 character carries 2 unused bits; setting one
        // must not yield a second valid spelling of the same signature.
        var note = SignedNote.Sign(Text, _alice);
        var lastChar = note[^3];
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var sibling = alphabet[alphabet.IndexOf(lastChar) ^ 1];
        var malleated = note[..^3] + sibling + note[^2..];

        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(malleated, [_alice.Verifier]).Error);
    }

    [Theory]
    [InlineData("trailing garbage")]
    [InlineData("trailing garbage\n")]
    [InlineData("\u2014 alice.example\n")]
    [InlineData("\n")]
    [InlineData(" ")]
    public void TrailingGarbageIsMalformed(string garbage)
    {
        var note = SignedNote.Sign(Text, _alice) + garbage;
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note, [_alice.Verifier]).Error);
    }

    [Fact]
    public void SignatureLineMustUseEmDashAndSpace()
    {
        var note = SignedNote.Sign(Text, _alice);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note.Replace("\u2014 ", "- ", StringComparison.Ordinal), [_alice.Verifier]).Error);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note.Replace("\u2014 ", "\u2013 ", StringComparison.Ordinal), [_alice.Verifier]).Error);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note.Replace("\u2014 ", "\u2014", StringComparison.Ordinal), [_alice.Verifier]).Error);
    }

    [Fact]
    public void ControlCharactersAndCarriageReturnsAreMalformed()
    {
        var note = SignedNote.Sign(Text, _alice);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note.Replace("\n", "\r\n", StringComparison.Ordinal), [_alice.Verifier]).Error);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open("\t" + note, [_alice.Verifier]).Error);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open("\ud800" + note, [_alice.Verifier]).Error);
    }

    [Fact]
    public void MoreThanOneHundredSignaturesIsMalformed()
    {
        var note = SignedNote.Sign(Text, _alice);
        var line = note[note.IndexOf('\u2014')..];
        Assert.True(SignedNote.Open(note + string.Concat(Enumerable.Repeat(line, 99)), [_alice.Verifier]).Success);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note + string.Concat(Enumerable.Repeat(line, 100)), [_alice.Verifier]).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no trailing newline")]
    [InlineData("bell\u0007\n")]
    [InlineData("carriage\r\n")]
    public void SignRejectsTextThatCannotBeANote(string text)
    {
        Assert.Throws<ArgumentException>(() => SignedNote.Sign(text, _alice));
    }

    [Fact]
    public void SignRejectsLoneSurrogate()
    {
        // Built in code because attribute strings cannot carry a lone surrogate.
        Assert.Throws<ArgumentException>(() => SignedNote.Sign("lone \udc00 surrogate\n", _alice));
    }

    [Fact]
    public void ShortestWellFormedSignatureFromUnknownKeyIsIgnored()
    {
        // Go requires only a key ID plus at least one byte; such a line is syntactically fine, just unknown.
        var result = SignedNote.Open(Text + "\n\u2014 alice.example AAAAAAA=\n", [_alice.Verifier]);
        Assert.Equal(NoteOpenErrors.NoKnownSignature, result.Error);
        Assert.Equal(1, result.UnknownSignatureCount);
    }

    [Fact]
    public void SigningTwiceWithTheSameKeyEmitsOneLine()
    {
        var note = SignedNote.Sign(Text, _alice, _alice);
        Assert.Equal(1, note.Count(c => c == '\u2014'));
    }

    [Fact]
    public void AddSignaturesCosignsAndKeepsExistingLines()
    {
        var note = SignedNote.Sign(Text, _alice, _mallory);

        var cosigned = SignedNote.AddSignatures(note, _bob);

        Assert.StartsWith(note, cosigned, StringComparison.Ordinal);
        var result = SignedNote.Open(cosigned, [_alice.Verifier, _bob.Verifier]);
        Assert.True(result.Success, result.ToString());
        Assert.Equal(["alice.example", "bob.example"], result.VerifiedBy);
        Assert.Equal(1, result.UnknownSignatureCount);
    }

    [Fact]
    public void AddSignaturesReplacesOwnEarlierSignature()
    {
        var note = SignedNote.Sign(Text, _alice, _bob);

        // Ed25519 is deterministic, so re-signing by bob reproduces the note exactly.
        Assert.Equal(note, SignedNote.AddSignatures(note, _bob));

        var resigned = SignedNote.AddSignatures(note, _alice);
        Assert.Equal(2, resigned.Count(c => c == '\u2014'));
        Assert.True(resigned.IndexOf("bob.example", StringComparison.Ordinal) < resigned.IndexOf("alice.example", StringComparison.Ordinal));
        Assert.True(SignedNote.Open(resigned, [_alice.Verifier, _bob.Verifier]).Success);
    }

    [Fact]
    public void AddSignaturesRejectsMalformedNotesAndOverflow()
    {
        Assert.Throws<FormatException>(() => SignedNote.AddSignatures(Text, _bob));

        var note = SignedNote.Sign(Text, _alice);
        var line = note[note.IndexOf('\u2014')..];
        var withHundred = note + string.Concat(Enumerable.Range(0, 99).Select(i => line.Replace("alice.example", $"n{i}", StringComparison.Ordinal)));
        Assert.True(SignedNote.Open(withHundred, [_alice.Verifier]).Success);
        Assert.Throws<InvalidOperationException>(() => SignedNote.AddSignatures(withHundred, _bob));
    }
}
