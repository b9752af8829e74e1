using GreenTrace.Core.Certificates;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Pipeline.Tests.Ledger;

public sealed class SqliteReadingArchiveTests : IDisposable
{
    private const long Hour10 = LedgerFixture.RegisteredAt + (10 * 3600);

    private readonly TempDirectory _dir = new();
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");

    private static readonly byte[] Entry = "a signed ledger entry"u8.ToArray();

    private string DbPath => _dir.File("archive.db");

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void LoadReturnsTheReadingsInTreeOrderAfterAReopen()
    {
        var readings = LedgerFixture.HourOfReadings(_a, Hour10);
        // Handed over out of order: the certificate fixes the order (by sequence).
        var issued = LedgerFixture.Issue(_a, [readings[2], readings[0], readings[3], readings[1]]);
        using (var archive = new SqliteReadingArchive(DbPath))
        {
            archive.Store(issued.Certificate, issued.Readings, Entry);
            Assert.Equal(readings, archive.Load(issued.Certificate.Id));
        }

        using var reopened = new SqliteReadingArchive(DbPath);
        Assert.Equal(readings, reopened.Load(issued.Certificate.Id));
        Assert.Null(reopened.Load(new byte[32]));
    }

    [Fact]
    public void StoringTheSameCertificateAgainIsANoOp()
    {
        using var archive = new SqliteReadingArchive(DbPath);
        var issued = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10));

        archive.Store(issued.Certificate, issued.Readings, Entry);
        archive.Store(issued.Certificate, issued.Readings, Entry);

        Assert.Equal(4, archive.Load(issued.Certificate.Id)!.Count);
        Assert.Equal((1L, 4L, 1000L), archive.TotalsByMeter()["meter-a"]);
        Assert.Equal(1, archive.NextPart("meter-a", Hour10));
    }

    [Fact]
    public void AReadingInTwoCertificatesThrowsAndTheSecondIsNotStored()
    {
        using var archive = new SqliteReadingArchive(DbPath);
        var readings = LedgerFixture.HourOfReadings(_a, Hour10);
        var first = LedgerFixture.Issue(_a, readings[..3]);
        var second = LedgerFixture.Issue(_a, readings[2..], part: 1); // reading 3 again, with reading 4
        archive.Store(first.Certificate, first.Readings, Entry);

        var e = Assert.Throws<InvalidOperationException>(() => archive.Store(second.Certificate, second.Readings, Entry));

        Assert.Contains("already certified", e.Message, StringComparison.Ordinal);
        Assert.Null(archive.Load(second.Certificate.Id));
        Assert.False(archive.FindCertified("meter-a", 4) is not null);
        Assert.Equal(1, archive.NextPart("meter-a", Hour10));
        Assert.Equal((1L, 3L, 750L), archive.TotalsByMeter()["meter-a"]);
    }

    [Fact]
    public void ABatchStoresWhatIsFreeAndNamesWhatAnotherCertifiedFirstAndAReplayIsNoConflict()
    {
        using var archive = new SqliteReadingArchive(DbPath);
        var readings = LedgerFixture.HourOfReadings(_a, Hour10);
        var first = LedgerFixture.Issue(_a, readings[..3]);
        var takenPart = LedgerFixture.Issue(_a, readings[3..]); // part 0 again, other readings
        var takenReading = LedgerFixture.Issue(_a, readings[2..], part: 1); // reading 3 again
        var free = LedgerFixture.Issue(_a, readings[3..], part: 2);
        archive.Store(first.Certificate, first.Readings, Entry);

        var refused = archive.Store([
            new ArchivedCertificate(first.Certificate, first.Readings, Entry), // the same certificate again: a replay
            new ArchivedCertificate(takenPart.Certificate, takenPart.Readings, Entry),
            new ArchivedCertificate(takenReading.Certificate, takenReading.Readings, Entry),
            new ArchivedCertificate(free.Certificate, free.Readings, Entry),
        ]);

        Assert.Equal([Convert.ToHexStringLower(takenPart.Certificate.Id), Convert.ToHexStringLower(takenReading.Certificate.Id)], refused.Select(Convert.ToHexStringLower));
        Assert.NotNull(archive.Load(free.Certificate.Id));
        Assert.Null(archive.Load(takenReading.Certificate.Id));
        Assert.Equal(3, archive.NextPart("meter-a", Hour10));
        Assert.Equal(2L, archive.TotalsByMeter()["meter-a"].Certificates);
    }

    [Fact]
    public void IsCertifiedKnowsExactlyTheArchivedReadings()
    {
        using var archive = new SqliteReadingArchive(DbPath);
        var issued = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10, firstSequence: 10));
        archive.Store(issued.Certificate, issued.Readings, Entry);

        Assert.All(new ulong[] { 10, 11, 12, 13 }, seq => Assert.True(archive.FindCertified("meter-a", seq) is not null));
        Assert.False(archive.FindCertified("meter-a", 9) is not null);
        Assert.False(archive.FindCertified("meter-a", 14) is not null);
        Assert.False(archive.FindCertified("meter-b", 10) is not null);
    }

    [Fact]
    public void NextPartCountsTheCertificatesOfAMeterAndHour()
    {
        using var archive = new SqliteReadingArchive(DbPath);
        var readings = LedgerFixture.HourOfReadings(_a, Hour10);
        Assert.Equal(0, archive.NextPart("meter-a", Hour10));

        var part0 = LedgerFixture.Issue(_a, readings[..2]);
        archive.Store(part0.Certificate, part0.Readings, Entry);
        Assert.Equal(1, archive.NextPart("meter-a", Hour10));

        var part1 = LedgerFixture.Issue(_a, readings[2..3], part: 1);
        archive.Store(part1.Certificate, part1.Readings, Entry);
        Assert.Equal(2, archive.NextPart("meter-a", Hour10));

        Assert.Equal(0, archive.NextPart("meter-a", Hour10 + 3600));
        Assert.Equal(0, archive.NextPart("meter-b", Hour10));
        var other = LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10));
        archive.Store(other.Certificate, other.Readings, Entry);
        Assert.Equal(2, archive.NextPart("meter-a", Hour10));
        Assert.Equal(1, archive.NextPart("meter-b", Hour10));

        var totals = archive.TotalsByMeter();
        Assert.Equal((2L, 3L, 750L), totals["meter-a"]);
        Assert.Equal((1L, 4L, 1000L), totals["meter-b"]);
    }

    [Fact]
    public void StoredEntriesWaitInTheOutboxUntilMarkedSubmittedAcrossAReopen()
    {
        var first = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10));
        var second = LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10));
        using (var archive = new SqliteReadingArchive(DbPath))
        {
            archive.Store(first.Certificate, first.Readings, "first"u8.ToArray());
            archive.Store(second.Certificate, second.Readings, "second"u8.ToArray());
            archive.MarkSubmitted(first.Certificate.Id);
        }
        using (var reopened = new SqliteReadingArchive(DbPath))
        {
            var pending = Assert.Single(reopened.Unsubmitted());
            Assert.Equal(second.Certificate.Id, pending.CertificateId);
            Assert.Equal("meter-b", pending.MeterId);
            Assert.Equal("second"u8.ToArray(), pending.Entry);
            reopened.MarkSubmitted(second.Certificate.Id);
            Assert.Empty(reopened.Unsubmitted());
        }
    }

    [Fact]
    public void FindCertifiedReturnsTheExactBytes()
    {
        var issued = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10));
        using var archive = new SqliteReadingArchive(DbPath);
        archive.Store(issued.Certificate, issued.Readings, Entry);
        var reading = issued.Readings[1];
        Assert.Equal(reading.Encoded.ToArray(), archive.FindCertified("meter-a", reading.Reading.Sequence));
    }
}
