namespace GreenTrace.Core.Tests.Checkpoints;

// Values copied verbatim from published sources; none are generated here.
internal static class PublishedVectors
{
    // golang/mod sumdb/note/note_test.go (TestNewVerifier, TestNewSigner, TestSign, TestOpen) and the package doc in sumdb/note/note.go.
    public const string PeterVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    public const string PeterSignerKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    public const uint PeterKeyId = 0xc74f20a3;
    public const string EnochVerifierKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    public const uint EnochKeyId = 0xaf0cfe78;

    public const string NeumannText =
        "If you think cryptography is the answer to your problem,\n" +
        "then you don't know what your problem is.\n";

    public const string PeterSignatureLine =
        "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    public const string EnochSignatureLine =
        "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // golang/mod sumdb/note/note_test.go TestNewVerifier: wrong-length key and unknown algorithm, each with its key hash adjusted.
    public const string WrongLengthKeyWithAdjustedHash = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
    public const string UnknownAlgorithmWithAdjustedHash = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    // transparency-dev/formats log/note_test.go: key pairs produced by Go's note.GenerateKey.
    public static readonly (string SignerKey, string VerifierKey)[] TransparencyDevKeyPairs =
    [
        ("PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ", "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs"),
        ("PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci", "Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH"),
        ("PRIVATE+KEY+KnownAgain+4893b26c+ARhZda/l25zjGZswYLDZsLNRzNpmv5wYTN9IoTr1OJ2+", "KnownAgain+4893b26c+AQ+LR7BFF/F/dkpIBjBpSvT0crkteizuUkavAoGeaYMj"),
        ("PRIVATE+KEY+Unknown+fdbb2e08+Aav2knTC6orbhXX8pMWuNiWgO+Wwk2DB+h1eU2Q1W1nU", "Unknown+fdbb2e08+AWgRIYZ+8x1Vl+1Q+sR8zciNHiYI1SdlBjNw+RV0rots"),
    ];

    // transparency-dev/formats log/note_test.go TestSumDBNoteParsing: a real sum.golang.org checkpoint and the sumdb key.
    public const string SumDbVerifierKey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    public const string SumDbOrigin = "go.sum database tree";
    public const string SumDbCheckpoint =
        "go.sum database tree\n" +
        "6476701\n" +
        "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n" +
        "\n" +
        "\u2014 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";

    // golang/mod sumdb/tlog/note_test.go TestFormatTree/TestParseTree: root is RecordHash("hello world") = SHA-256(0x00 || "hello world").
    public const string GoSumTreeText = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";

    // C2SP/C2SP signed-note.md: the example note. Its public key is not published, so it can only be parsed, not verified.
    public const string C2spExampleNote =
        "Ognuno sta solo sul cuor della terra\n" +
        "trafitto da un raggio di sole:\n" +
        "\n" +
        "ed è subito sera.\n" +
        "\n" +
        "\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

    // C2SP/C2SP tlog-checkpoint.md: the example checkpoint (key not published). Its key ID happens to equal sum.golang.org's.
    public const string C2spExampleCheckpoint =
        "example.com/behind-the-sofa\n" +
        "20852163\n" +
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n" +
        "\n" +
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
}
