using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using static GreenTrace.Core.Tests.Ledger.LedgerFixtures;

namespace GreenTrace.Core.Tests.Ledger;

public class MembershipTests
{
    private static readonly string ValidJson = Consortium().ToJson();

    private static string Edit(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(ValidJson)!.AsObject();
        edit(root);
        return root.ToJsonString();
    }

    private static JsonObject Node(JsonObject root, int i) => root["nodes"]![i]!.AsObject();

    private static JsonObject Issuer(JsonObject root, int i) => root["issuers"]![i]!.AsObject();

    [Fact]
    public void JsonRoundTripKeepsEverything()
    {
        var original = Consortium();

        var back = Membership.FromJson(original.ToJson());

        Assert.Equal(original.Origin, back.Origin);
        Assert.Equal(original.Quorum, back.Quorum);
        Assert.Equal(original.Nodes, back.Nodes); // NodeMember is a record of strings
        Assert.Equal(original.Issuers.Count, back.Issuers.Count);
        for (var i = 0; i < original.Issuers.Count; i++)
        {
            Assert.Equal(original.Issuers[i].Id, back.Issuers[i].Id);
            Assert.Equal(original.Issuers[i].PublicKey, back.Issuers[i].PublicKey);
            Assert.Equal(original.Issuers[i].Zones, back.Issuers[i].Zones);
        }
        Assert.Equal(original.ToJson(), back.ToJson());
    }

    [Fact]
    public void JsonUsesCamelCaseNamesAndBase64Keys()
    {
        using var doc = JsonDocument.Parse(ValidJson);
        var root = doc.RootElement;

        Assert.Equal(Origin, root.GetProperty("origin").GetString());
        Assert.Equal(2, root.GetProperty("quorum").GetInt32());
        Assert.Equal("node-1", root.GetProperty("nodes")[0].GetProperty("name").GetString());
        Assert.Equal(Node1.Verifier.VerifierKey, root.GetProperty("nodes")[0].GetProperty("verifierKey").GetString());
        var issuer = root.GetProperty("issuers")[0];
        Assert.Equal(IssuerA, issuer.GetProperty("id").GetString());
        Assert.Equal(IssuerAKey.ExportSubjectPublicKeyInfo(), issuer.GetProperty("publicKey").GetBytesFromBase64());
        Assert.Equal("DE-LU", issuer.GetProperty("zones")[0].GetString());
    }

    [Fact]
    public void TrustedKeysFindIssuersById()
    {
        using var trust = new TrustedKeys(Membership.FromJson(ValidJson));

        Assert.True(trust.TryGetIssuer(IssuerB, out var member, out var key));
        Assert.Equal(["FR"], member.Zones);
        Assert.Equal(IssuerBKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo());
        Assert.False(trust.TryGetIssuer("issuer-z", out _, out _));
        Assert.Equal(3, trust.Nodes.Count);
    }

    [Fact]
    public void MembershipWithoutIssuersIsUsableForCheckpointsOnly()
    {
        // Validate accepts a membership that names no issuer; TrustedKeys must accept it too.
        var json = Edit(root => root.Remove("issuers"));

        var membership = Membership.FromJson(json);
        using var trust = new TrustedKeys(membership);

        Assert.False(trust.TryGetIssuer(IssuerA, out _, out _));
        Assert.Equal(3, trust.Nodes.Count);
    }

    public static TheoryData<string> InvalidEdits =>
    [
        "quorum 0", "quorum negative", "quorum above nodes", "no nodes", "nodes missing", "null node",
        "duplicate node names", "bad verifier key", "verifier key of another name", "verifier key missing",
        "origin empty", "origin missing", "origin two lines",
        "issuer no zones", "issuer zones missing", "issuer bad key", "issuer p384 key", "issuer key missing", "issuer id empty", "null issuer",
        "duplicate issuer ids", "unknown top-level member", "unknown node member", "unknown issuer member", "quorum as text",
    ];

    [Theory]
    [MemberData(nameof(InvalidEdits))]
    public void InvalidMembershipIsAFormatException(string edit)
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var otherNode1 = NoteSigner.Generate("node-1");
        var json = Edit(root =>
        {
            switch (edit)
            {
                case "quorum 0": root["quorum"] = 0; break;
                case "quorum negative": root["quorum"] = -1; break;
                case "quorum above nodes": root["quorum"] = 4; break;
                case "no nodes": root["nodes"] = new JsonArray(); break;
                case "nodes missing": root.Remove("nodes"); break;
                case "null node": root["nodes"]!.AsArray().Add(null); break;
                case "duplicate node names":
                    root["nodes"]!.AsArray().Add(new JsonObject { ["name"] = "node-1", ["verifierKey"] = otherNode1.Verifier.VerifierKey });
                    break;
                case "bad verifier key": Node(root, 0)["verifierKey"] = "node-1+deadbeef+AAAA"; break;
                case "verifier key of another name": Node(root, 0)["verifierKey"] = Node2.Verifier.VerifierKey; break;
                case "verifier key missing": Node(root, 0).Remove("verifierKey"); break;
                case "origin empty": root["origin"] = ""; break;
                case "origin missing": root.Remove("origin"); break;
                case "origin two lines": root["origin"] = "greentrace.test/ledger\nsecond"; break;
                case "issuer no zones": Issuer(root, 0)["zones"] = new JsonArray(); break;
                case "issuer zones missing": Issuer(root, 0).Remove("zones"); break;
                case "issuer bad key": Issuer(root, 0)["publicKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(91)); break;
                case "issuer p384 key": Issuer(root, 0)["publicKey"] = Convert.ToBase64String(p384.ExportSubjectPublicKeyInfo()); break;
                case "issuer key missing": Issuer(root, 0).Remove("publicKey"); break;
                case "issuer id empty": Issuer(root, 0)["id"] = ""; break;
                case "null issuer": root["issuers"]!.AsArray().Add(null); break;
                case "duplicate issuer ids": Issuer(root, 1)["id"] = IssuerA; break;
                case "unknown top-level member": root["admins"] = new JsonArray(); break;
                case "unknown node member": Node(root, 0)["weight"] = 2; break;
                case "unknown issuer member": Issuer(root, 0)["countries"] = new JsonArray("DE"); break;
                case "quorum as text": root["quorum"] = "2"; break;
                default: throw new ArgumentOutOfRangeException(nameof(edit));
            }
        });

        Assert.Throws<FormatException>(() => Membership.FromJson(json));
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{")]
    [InlineData("{}")]
    [InlineData("not json")]
    public void NotAMembershipIsAFormatException(string json)
    {
        Assert.Throws<FormatException>(() => Membership.FromJson(json));
    }

    [Fact]
    public void TrustedKeysRefuseAnInvalidMembership()
    {
        Assert.Throws<FormatException>(() => new TrustedKeys(Consortium() with { Quorum = 4 }));
    }
}
