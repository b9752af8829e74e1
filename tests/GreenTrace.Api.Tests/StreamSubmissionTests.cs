using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;
using Microsoft.Extensions.DependencyInjection;

namespace GreenTrace.Api.Tests;

/// <summary>
/// The API in front of the replicated ledger, with the stream in process and the node played by the test: a submission
/// goes onto the entry stream, and the answer is the verdict the node writes into the store this API reads (appended,
/// or refused with its code), a timeout when no node judges it, and a duplicate when the log already has it.
/// (Against real Kafka 0.9 and `ledger node` processes: ReplicatedLedgerCliTests.)
/// </summary>
public sealed class StreamSubmissionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheAnswerIsTheVerdictTheNodeRecordsForTheEntryOrATimeoutWhenNoNodeJudgesIt()
    {
        await using var writer = await ApiLedger.StartAsync();
        var directory = Directory.CreateTempSubdirectory("greentrace-stream-api-").FullName;
        try
        {
            var trust = Path.Combine(directory, "genesis.json");
            await File.WriteAllTextAsync(trust, ApiLedger.Genesis.ToJson(), Ct);
            var log = new InProcessLog([new TopicSpec(Topics.Ledger, 1)]);
            var options = new ApiOptions { Store = writer.Store, TrustFile = trust, SubmitTimeoutSeconds = 1 };
            await using var app = ApiHost.Build(options, ["http://127.0.0.1:0"], streams: s => s.AddSingleton<IStreamClientFactory>(log));
            await app.StartAsync(Ct);
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
            using var trustKeys = new TrustedKeys(ApiLedger.Genesis);
            using var node = new LedgerNode(LedgerStores.Open(writer.Store), trustKeys, ApiLedger.Node3);

            // Nobody judges it: the API says so with its own code, and the entry waits on the stream.
            var toBob = writer.TransferFromAlice(ApiLedger.Bob);
            await ApiTests.ExpectProblemAsync(await ApiTests.PostAsync(http, toBob), HttpStatusCode.GatewayTimeout, StreamEntrySubmitter.Timeout);
            var onStream = Assert.Single(log.ReadAll(Topics.Ledger));
            Assert.Equal(toBob, onStream.Value.ToArray());
            Assert.Equal(writer.Certificate.IdHex, onStream.Key);

            // The node takes it; sent again, it is already on the ledger.
            Assert.True(node.Submit(onStream.Value).Accepted);
            await ApiTests.ExpectProblemAsync(await ApiTests.PostAsync(http, toBob), HttpStatusCode.Conflict, LedgerReasons.EntryDuplicate);

            // A double spend: the node refuses it and records why; the waiting submitter answers with that code.
            var toCarol = writer.TransferFromAlice(ApiLedger.Carol);
            var pending = ApiTests.PostAsync(http, toCarol);
            while (log.ReadAll(Topics.Ledger).Count < 2)
                await Task.Delay(20, Ct);
            Assert.Equal(LedgerReasons.HoldingSpent, node.Submit(log.ReadAll(Topics.Ledger)[1].Value).Rejection?.Code);
            await ApiTests.ExpectProblemAsync(await pending, HttpStatusCode.Conflict, LedgerReasons.HoldingSpent);

            // An accepted one comes back with its index, read from the node's store.
            var bobsHolding = HoldingIds.Compute(System.Security.Cryptography.SHA256.HashData(toBob), 0);
            var claim = LedgerEntryCodec.SignClaimed(new Claim(writer.Certificate.Id, bobsHolding, "bob-factory", ApiLedger.Hour, ApiLedger.Hour + 3600), ApiLedger.Bob, writer.Certificate.IssuedAt + 120);
            var accepted = ApiTests.PostAsync(http, claim);
            while (log.ReadAll(Topics.Ledger).Count < 3)
                await Task.Delay(20, Ct);
            var appended = node.Submit(log.ReadAll(Topics.Ledger)[2].Value).Appended!;
            using var created = await accepted;
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var view = await created.Content.ReadFromJsonAsync<SubmittedView>(new JsonSerializerOptions(JsonSerializerDefaults.Web), Ct);
            Assert.Equal((appended.Index, nameof(EntryKind.Claimed)), (view!.Index, view.Kind));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void AnApiNeedsEitherANodeKeyOrTheEntryStreamNotBoth()
    {
        Assert.Throws<InvalidOperationException>(() => ApiHost.Build(new ApiOptions { Store = "sqlite::memory:", TrustFile = "x" }));
        var both = new ApiOptions { Store = "sqlite::memory:", TrustFile = "x" };
        both.NodeKeyFiles.Add("node.key");
        Assert.Throws<InvalidOperationException>(() => ApiHost.Build(both, streams: _ => { }));
    }
}
