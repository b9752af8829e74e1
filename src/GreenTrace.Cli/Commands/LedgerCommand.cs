using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.Aggregator;
using GreenTrace.Cli.Ledger;
using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.Ledger.Audit;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace ledger ...</c>: the certificate lifecycle from the command line (init, keys, register, issue,
/// transfer, split, claim, withdraw, show, holdings, audit) on an embedded store or through the replicated nodes,
/// and <c>ledger node</c>, one replicated node.
/// </summary>
public static class LedgerCommand
{
    public const string DefaultOrigin = "ledger.greentrace.local";

    public static Command Create(CliConsole console) =>
        new("ledger", "The certificate ledger: set one up, move certificates from issuance to claim, inspect and audit it, run a replicated node.")
        {
            InitCommand(console),
            OwnerKeyCommand(console),
            RegisterCommand(console),
            IssueCommand(console),
            OwnerEntryCommand(console, OwnerEntryKind.Transfer(), "Prints the new holding's id."),
            OwnerEntryCommand(console, OwnerEntryKind.Split(), "Prints the new holdings' ids, in part order."),
            OwnerEntryCommand(console, OwnerEntryKind.Claim(), ""),
            WithdrawCommand(console),
            ShowCommand(console),
            HoldingsCommand(console),
            AuditCommand(console),
            LedgerNodeCommand.Create(console),
        };

    private static Command InitCommand(CliConsole console)
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory for genesis.json and node-N.key", Required = true };
        var origin = new Option<string>("--origin") { Description = $"The log's origin line in every checkpoint (default {DefaultOrigin})", DefaultValueFactory = _ => DefaultOrigin };
        var nodes = new Option<int>("--nodes") { Description = "Number of ledger nodes (default 3)", DefaultValueFactory = _ => 3 };
        var quorum = new Option<int>("--quorum") { Description = "Node signatures a checkpoint needs (default 2)", DefaultValueFactory = _ => 2 };
        var issuers = new Option<FileInfo>("--issuers") { Description = "Issuers' keys (`greentrace issuers create`); only their public keys go into the genesis", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite existing files (their node keys are lost)" };
        var command = new Command("init", "Write a genesis membership (genesis.json: nodes, quorum, issuers; public only) and each node's private keys (node-N.key, mode 0600).")
        {
            output, origin, nodes, quorum, issuers, force,
        };
        command.SetAction(parse => Run(console, () =>
        {
            var dir = parse.GetValue(output)!;
            var n = parse.GetValue(nodes);
            var genesisPath = Path.Combine(dir.FullName, "genesis.json");
            if (File.Exists(genesisPath) && !parse.GetValue(force))
                return Unusable(console, $"{genesisPath} exists; pass --force to replace it and its node keys");
            var issuerMembers = ReadIssuerMembers(parse.GetValue(issuers)!.FullName);
            var signers = new List<(NoteSigner Note, ECDsa Governance)>();
            try
            {
                for (var i = 1; i <= n; i++)
                    signers.Add((NoteSigner.Generate($"node-{i}"), ECDsa.Create(ECCurve.NamedCurves.nistP256)));
                var membership = new Membership(parse.GetValue(origin)!, parse.GetValue(quorum),
                    signers.Select(s => new NodeMember(s.Note.Name, s.Note.Verifier.VerifierKey, s.Governance.ExportSubjectPublicKeyInfo())).ToList(),
                    issuerMembers);
                try
                {
                    membership.Validate();
                }
                catch (FormatException e)
                {
                    return Unusable(console, e.Message);
                }
                dir.Create();
                File.WriteAllText(genesisPath, membership.ToJson());
                foreach (var (note, governance) in signers)
                    LedgerFiles.WriteNodeKey(Path.Combine(dir.FullName, $"{note.Name}.key"), note, governance);
                console.Out.WriteLine($"wrote {genesisPath}: origin {membership.Origin}, {n} node(s), quorum {membership.Quorum}, {issuerMembers.Count} issuer(s)");
                console.Out.WriteLine($"wrote {string.Join(", ", signers.Select(s => s.Note.Name + ".key"))} (private: give each node only its own)");
                return ExitCodes.Ok;
            }
            finally
            {
                foreach (var (note, governance) in signers)
                {
                    note.Dispose();
                    governance.Dispose();
                }
            }
        }));
        return command;
    }

    private static Command OwnerKeyCommand(CliConsole console)
    {
        var output = new Option<FileInfo>("--out") { Description = "Private key file to write (PKCS#8 PEM, mode 0600); the public key goes beside it with .pub", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing key (whatever it owns is lost)" };
        var command = new Command("owner-key", "Make a P-256 owner key: holdings belong to keys, and the owner id is the SHA-256 of the public key.") { output, force };
        command.SetAction(parse => Run(console, () =>
        {
            var file = parse.GetValue(output)!;
            var pub = Path.ChangeExtension(file.FullName, ".pub");
            if ((file.Exists || File.Exists(pub)) && !parse.GetValue(force))
                return Unusable(console, $"{file.FullName} or {pub} exists; it may own holdings (use --force to replace it)");
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            LedgerFiles.WritePrivate(file.FullName, key.ExportPkcs8PrivateKeyPem() + "\n");
            File.WriteAllText(pub, key.ExportSubjectPublicKeyInfoPem() + "\n");
            console.Out.WriteLine(LedgerEntry.OwnerId(key.ExportSubjectPublicKeyInfo()));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command RegisterCommand(CliConsole console)
    {
        var target = new LedgerTargetOptions();
        var issuers = new Option<FileInfo>("--issuers") { Description = "Issuers' private keys by zone", Required = true };
        var registry = new Option<FileInfo>("--registry") { Description = "Device registry (`greentrace fleet registry`)", Required = true };
        var meters = new Option<string[]>("--meter") { Description = "Register only these meters (repeatable; default all)" };
        var owner = new Option<FileInfo?>("--owner") { Description = "The plant owner's public key (.pub): the meters' certificates start in their hands, not the issuer's" };
        var command = new Command("register", "Register meters on the ledger: one DeviceRegistered entry per meter, signed by its zone's issuer.") { issuers, registry, meters, owner };
        target.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(console, async () =>
        {
            var signers = LoadIssuers(parse.GetValue(issuers)!.FullName);
            IReadOnlyList<DeviceInfo> devices;
            try
            {
                devices = DeviceRegistryJson.Deserialize(await File.ReadAllTextAsync(parse.GetValue(registry)!.FullName, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException)
            {
                return Unusable(console, $"registry: {e.Message}");
            }
            var only = parse.GetValue(meters) ?? [];
            if (only.Length > 0)
            {
                var unknown = only.Where(m => devices.All(d => d.MeterId != m)).ToList();
                if (unknown.Count > 0)
                    return Unusable(console, $"not in the registry: {string.Join(", ", unknown)}");
                devices = devices.Where(d => only.Contains(d.MeterId, StringComparer.Ordinal)).ToList();
            }
            var ownerKey = parse.GetValue(owner) is { } o ? LedgerFiles.LoadOwnerPublicKey(o.FullName) : null;
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var entries = new List<(string, byte[])>();
            foreach (var d in devices)
            {
                if (!signers.TryGetValue(d.GridZone, out var issuer))
                    return Unusable(console, $"no issuer for zone '{d.GridZone}' of meter '{d.MeterId}' in the issuers file");
                entries.Add((d.MeterId, LedgerEntryCodec.SignDeviceRegistered(d, issuer.IssuerId, issuer.Key, now, ownerKey)));
            }
            using var writer = target.Open(parse);
            var outcomes = await writer.WriteAsync(entries, ct).ConfigureAwait(false);
            return Report(console, writer, outcomes, (o, i) => [devices[i].MeterId]);
        }));
        return command;
    }

    private static Command IssueCommand(CliConsole console)
    {
        var target = new LedgerTargetOptions();
        var issuers = new Option<FileInfo>("--issuers") { Description = "Issuers' private keys by zone", Required = true };
        var fleetOpt = new Option<FileInfo>("--fleet") { Description = "Fleet file (`greentrace fleet create`): the meter's own key makes its readings; its state is saved after issuance", Required = true };
        var meter = new Option<string>("--meter") { Description = "Meter id", Required = true };
        var hour = new Option<string>("--hour") { Description = "The UTC hour to certify, e.g. 2026-11-24T10:00Z (it must have ended)", Required = true };
        var part = new Option<int?>("--part") { Description = "Certificate part of that hour (default: the next one on the store; 0 with --kafka)" };
        var command = new Command("issue",
            "Issue the certificate of one meter-hour: the firmware simulator reads the hour with the meter's key, the readings are verified and aggregated by the aggregator's rule, and the zone's issuer signs. Prints the certificate id (also its first holding's id).")
        {
            issuers, fleetOpt, meter, hour, part,
        };
        target.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(console, async () =>
        {
            if (!TryParseTime(parse.GetValue(hour)!, out var start) || start % HourlyAggregation.Hour != 0)
                return Unusable(console, $"--hour '{parse.GetValue(hour)}' is not a whole UTC hour like 2026-11-24T10:00Z");
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (start + HourlyAggregation.Hour > now)
                return Unusable(console, "that hour has not ended yet: a certificate is issued after its hour");
            var signers = LoadIssuers(parse.GetValue(issuers)!.FullName);
            var fleetPath = parse.GetValue(fleetOpt)!.FullName;
            Fleet fleet;
            try
            {
                fleet = Fleet.Load(fleetPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return Unusable(console, $"fleet {fleetPath}: {e.Message}");
            }
            using (fleet)
            {
                var m = fleet.Find(parse.GetValue(meter)!);
                if (m is null)
                    return Unusable(console, $"meter '{parse.GetValue(meter)}' is not in the fleet");
                if (!signers.TryGetValue(m.Device.GridZone, out var issuer))
                    return Unusable(console, $"no issuer for zone '{m.Device.GridZone}' in the issuers file");
                using var writer = target.Open(parse);
                // The readings are checked against the key the ledger registered, as the gateway checks them against the registry.
                var device = m.Device;
                var registeredKey = device.PublicKey;
                if (writer.Node is { } node)
                {
                    if (node.FindDeviceRecord(device.MeterId) is not { } record)
                        return Refused(console, new Rejection(LedgerReasons.DeviceUnknown, $"meter '{device.MeterId}' is not registered on this ledger (`greentrace ledger register`)"));
                    device = record.Device;
                    registeredKey = record.KeyAt(start);
                }
                var readings = new List<DecodedReading>();
                using (var key = DeviceKeys.ImportPublicKey(registeredKey))
                {
                    for (var t = start; t < start + HourlyAggregation.Hour; t += fleet.IntervalSeconds)
                    {
                        SignedReading signed;
                        try
                        {
                            signed = m.NextSignedReading(t);
                        }
                        catch (InvalidOperationException e)
                        {
                            return Unusable(console, $"{e.Message} (the fleet file keeps each meter's state: an hour is read once)");
                        }
                        var decoded = ReadingCodec.DecodeAndVerify(signed.Encoded, key);
                        if (!decoded.IsOk)
                            return Refused(console, decoded.Error);
                        readings.Add(decoded.Value);
                    }
                }
                var partNumber = parse.GetValue(part) ?? NextPart(writer, device.MeterId, start);
                var validity = writer.Membership?.CertificateValiditySeconds ?? Membership.DefaultCertificateValiditySeconds;
                var issued = HourlyAggregation.Issue(device, readings, partNumber, new IssuanceTerms(issuer.IssuerId, now, validity));
                if (!issued.IsOk)
                    return Refused(console, issued.Error);
                var certificate = issued.Value.Certificate;
                var entry = LedgerEntryCodec.SignCertificateIssued(certificate, issuer.IssuerId, issuer.Key);
                var outcomes = await writer.WriteAsync([(certificate.MeterId, entry)], ct).ConfigureAwait(false);
                // Saved only once the ledger has the certificate (or the stream has the entry): a refused issue can be retried for the same hour.
                if (outcomes[0].Rejection is null)
                    fleet.Save(fleetPath);
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"certificate {certificate.IdHex}: meter {certificate.MeterId}, hour {DateTimeOffset.FromUnixTimeSeconds(start):yyyy-MM-ddTHH:mmZ}, part {certificate.Part}, {certificate.FaceValueWh} Wh from {certificate.ReadingCount} readings"));
                return Report(console, writer, outcomes, (o, i) => [certificate.IdHex]);
            }
        }));
        return command;
    }

    private static Command OwnerEntryCommand(CliConsole console, OwnerEntryKind kind, string prints)
    {
        var target = new LedgerTargetOptions();
        var (key, certificate) = OwnerEntryKind.SignerOptions("--key");
        var holding = new Option<string>("--holding") { Description = "Holding id (hex); a certificate's first holding has the certificate's id", Required = true };
        var command = new Command(kind.Name, $"{kind.Description} {prints}".TrimEnd()) { key, certificate, holding };
        kind.AddTo(command);
        target.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(console, async () =>
        {
            byte[] entry;
            using (var owner = LedgerFiles.LoadOwnerKey(parse.GetValue(key)!.FullName))
                entry = kind.SignNow(parse, owner, CertificateOf(parse, certificate), HoldingOf(parse, holding));
            using var writer = target.Open(parse);
            var outcomes = await writer.WriteAsync([(LedgerEntryCodec.Decode(entry).Value.CertificateId is { } c ? Hex.Encode(c) : "", entry)], ct).ConfigureAwait(false);
            return Report(console, writer, outcomes, (_, _) => OwnerEntryKind.NewHoldings(entry));
        }));
        return command;
    }

    private static Command WithdrawCommand(CliConsole console)
    {
        var target = new LedgerTargetOptions();
        var issuers = new Option<FileInfo>("--issuers") { Description = "Issuers' private keys", Required = true };
        var issuerId = new Option<string?>("--issuer") { Description = "The issuing body's id (default: the certificate's, looked up on the store)" };
        var certificate = new Option<string>("--certificate") { Description = "Certificate id (hex)", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why it is withdrawn", Required = true };
        var command = new Command("withdraw", "Withdraw a certificate (its issuing body only; not once any of it is claimed): its live holdings end.") { issuers, issuerId, certificate, reason };
        target.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(console, async () =>
        {
            var id = CertificateOf(parse, certificate);
            var signers = LoadIssuers(parse.GetValue(issuers)!.FullName).Values.DistinctBy(s => s.IssuerId).ToList();
            using var writer = target.Open(parse);
            var wanted = parse.GetValue(issuerId) ?? writer.Node?.FindCertificate(id)?.Certificate.IssuingBody ?? (signers.Count == 1 ? signers[0].IssuerId : null);
            if (wanted is null)
            {
                return writer.Node is null
                    ? Unusable(console, "say which issuer withdraws with --issuer ID")
                    : Refused(console, new Rejection(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(id)} is not on the ledger"));
            }
            var issuer = signers.FirstOrDefault(s => s.IssuerId == wanted);
            if (issuer is null)
                return Unusable(console, $"the issuers file has no key for '{wanted}'");
            var entry = LedgerEntryCodec.SignWithdrawn(new Withdrawal(id, parse.GetValue(reason)!), issuer.IssuerId, issuer.Key, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            var outcomes = await writer.WriteAsync([(Hex.Encode(id), entry)], ct).ConfigureAwait(false);
            return Report(console, writer, outcomes, (o, i) => [Hex.Encode(id)]);
        }));
        return command;
    }

    private static Command ShowCommand(CliConsole console)
    {
        var (store, trust, json) = ReadOptions();
        var certificate = new Option<string>("--certificate") { Description = "Certificate id (hex)", Required = true };
        var command = new Command("show", "A certificate: its attributes, every entry about it, and every holding it has had.") { store, trust, json, certificate };
        command.SetAction(parse => Run(console, () =>
        {
            var id = CertificateOf(parse, certificate);
            using var view = OpenView(parse, store, trust);
            if (view.State.FindCertificate(id) is not { } record)
                return Refused(console, new Rejection(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(id)} is not on the ledger"));
            var c = record.Certificate;
            var history = record.EntryIndexes.Select(i =>
            {
                var e = LedgerEntryCodec.Decode(view.Store.Get(i)!.Encoded).Value;
                return new { index = i, entry = e.IdHex, kind = e.Kind.ToString(), author = e.AuthorId, at = Time(e.AuthoredAt) };
            }).ToList();
            var holdings = view.State.HoldingsOfCertificate(id).Select(HoldingJson).ToList();
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    certificate = c.IdHex,
                    meter = c.MeterId,
                    periodStart = Time(c.PeriodStart),
                    periodEnd = Time(c.PeriodEnd),
                    part = c.Part,
                    faceValueWh = c.FaceValueWh,
                    energySource = c.EnergySource,
                    technology = c.Technology,
                    gridZone = c.GridZone,
                    country = c.Country,
                    issuingBody = c.IssuingBody,
                    issuedAt = Time(c.IssuedAt),
                    expiresAt = Time(c.ExpiresAt),
                    readingCount = c.ReadingCount,
                    liveWh = record.LiveWh,
                    claimedWh = record.ClaimedWh,
                    withdrawnWh = record.WithdrawnWh,
                    withdrawn = record.Withdrawn,
                    history,
                    holdings,
                }, JsonDefaults.Indented));
                return ExitCodes.Ok;
            }
            var o = console.Out;
            o.WriteLine($"certificate {c.IdHex}");
            o.WriteLine($"  meter {c.MeterId} ({c.EnergySource}/{c.Technology}, {c.GridZone}, {c.Country}), hour {Time(c.PeriodStart)} .. {Time(c.PeriodEnd)}, part {c.Part}");
            o.WriteLine($"  {c.FaceValueWh} Wh from {c.ReadingCount} readings, issued by {c.IssuingBody} at {Time(c.IssuedAt)}, expires {Time(c.ExpiresAt)}");
            o.WriteLine($"  live {record.LiveWh} Wh, claimed {record.ClaimedWh} Wh, withdrawn {record.WithdrawnWh} Wh{(record.Withdrawn ? " (withdrawn)" : "")}");
            o.WriteLine("history:");
            foreach (var h in history)
                o.WriteLine($"  #{h.index} {h.kind} by {h.author} at {h.at} (entry {h.entry})");
            o.WriteLine("holdings:");
            foreach (var h in holdings)
                o.WriteLine($"  {h.Holding} {h.Wh} Wh {h.Status} owner {h.Owner} (made by #{h.CreatedBy}{(h.ConsumedBy is { } by ? $", consumed by #{by}" : "")})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command HoldingsCommand(CliConsole console)
    {
        var (store, trust, json) = ReadOptions();
        var owner = new Option<FileInfo>("--owner") { Description = "The owner's public key (.pub) or private key", Required = true };
        var command = new Command("holdings", "The live holdings of an owner key.") { store, trust, json, owner };
        command.SetAction(parse => Run(console, () =>
        {
            var key = LedgerFiles.LoadOwnerPublicKey(parse.GetValue(owner)!.FullName);
            using var view = OpenView(parse, store, trust);
            var holdings = view.State.HoldingsOf(key).OrderBy(h => h.CreatedBy).ThenBy(h => h.IdHex, StringComparer.Ordinal).ToList();
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    owner = LedgerEntry.OwnerId(key),
                    totalWh = holdings.Aggregate(0UL, (s, h) => s + h.Wh),
                    holdings = holdings.Select(HoldingJson),
                }, JsonDefaults.Indented));
                return ExitCodes.Ok;
            }
            console.Out.WriteLine($"{LedgerEntry.OwnerId(key)}: {holdings.Count} live holding(s), {holdings.Aggregate(0UL, (s, h) => s + h.Wh)} Wh");
            foreach (var h in holdings)
                console.Out.WriteLine($"  {h.IdHex} {h.Wh} Wh of certificate {Hex.Encode(h.CertificateId)} (made by #{h.CreatedBy})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command AuditCommand(CliConsole console)
    {
        var (store, trust, json) = ReadOptions();
        var command = new Command("audit", "Replay the whole store from the genesis, trusting none of its bookkeeping: every signature, rule, leaf hash and checkpoint. Exit 0 only when all is sound.")
        {
            store, trust, json,
        };
        command.SetAction((parse, ct) => RunAsync(console, () =>
        {
            var genesis = LedgerFiles.LoadTrust(RequireTrust(parse, trust));
            var spec = RequireStore(parse, store);
            GreenTrace.Ledger.Storage.ILedgerStore s;
            try
            {
                s = GreenTrace.Ledger.Storage.LedgerStores.Open(spec);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or System.Data.Common.DbException)
            {
                // A store that will not even open (gaps in its indexes) is a finding too, not a usage error.
                console.Error.WriteLine($"audit: the store does not open: {e.Message}");
                return Task.FromResult(ExitCodes.Invalid);
            }
            AuditReport report;
            using (s)
                report = LedgerAudit.Run(s, genesis, ct);
            var p = report.FirstProblem;
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    ok = report.Ok,
                    entries = report.Entries,
                    checkpoints = report.Checkpoints,
                    devices = report.Devices,
                    certificates = report.Certificates,
                    root = Hex.Encode(report.Root),
                    firstProblem = p is null ? null : new { subject = p.Subject.ToString().ToLowerInvariant(), index = p.Index, entry = p.EntryId is null ? null : Hex.Encode(p.EntryId), code = p.Code, message = p.Message },
                }, JsonDefaults.Indented));
            }
            else
            {
                console.Out.WriteLine($"{(report.Ok ? "sound" : "NOT SOUND")}: {report.Entries} entries, {report.Checkpoints} checkpoints, {report.Devices} devices, {report.Certificates} certificates checked; root {Hex.Encode(report.Root)}");
                if (p is not null)
                    console.Out.WriteLine($"first problem: {p}");
            }
            return Task.FromResult(report.Ok ? ExitCodes.Ok : ExitCodes.Invalid);
        }));
        return command;
    }

    private static (Option<string?> Store, Option<FileInfo?> Trust, Option<bool> Json) ReadOptions() => (
        new Option<string?>("--store") { Description = $"Ledger store: a path, sqlite:PATH or postgres:... (default ${LedgerTargetOptions.StoreVariable})" },
        new Option<FileInfo?>("--trust") { Description = "The genesis membership (genesis.json)" },
        new Option<bool>("--json") { Description = "Machine-readable output" });

    private static string RequireStore(ParseResult parse, Option<string?> store) =>
        parse.GetValue(store) ?? LedgerTargetOptions.StoreFromEnvironment() ?? throw new LedgerFileException($"--store SPEC (or ${LedgerTargetOptions.StoreVariable}) is required");

    private static string RequireTrust(ParseResult parse, Option<FileInfo?> trust) =>
        parse.GetValue(trust)?.FullName ?? throw new LedgerFileException("--trust genesis.json is required");

    private static LedgerView OpenView(ParseResult parse, Option<string?> store, Option<FileInfo?> trust) =>
        LedgerView.Open(RequireStore(parse, store), LedgerFiles.LoadTrust(RequireTrust(parse, trust)));

    /// <summary>
    /// Accepted: the ids (stdout) and where it landed (stderr). Submitted to the stream: the entry id, not yet
    /// accepted. Refused: the reason code and message on stderr and <see cref="ExitCodes.Invalid"/>.
    /// </summary>
    private static int Report(CliConsole console, LedgerWriter writer, IReadOnlyList<WriteOutcome> outcomes, Func<WriteOutcome, int, IEnumerable<string>> ids)
    {
        var refused = false;
        for (var i = 0; i < outcomes.Count; i++)
        {
            var o = outcomes[i];
            if (o.Rejection is { } why)
            {
                console.Error.WriteLine($"refused: {why.Code}: {why.Message}");
                refused = true;
            }
            else if (o.Submitted)
            {
                console.Out.WriteLine(Hex.Encode(o.EntryId));
                console.Error.WriteLine($"submitted entry {Hex.Encode(o.EntryId)} to {GreenTrace.Streaming.Topics.Ledger}: not yet accepted; the ledger nodes judge it");
            }
            else
            {
                foreach (var id in ids(o, i))
                    console.Out.WriteLine(id);
                console.Error.WriteLine($"accepted as entry #{o.Index} ({Hex.Encode(o.EntryId)})");
            }
        }
        if (writer.Checkpoint is { } cp && writer.Membership is { } m)
        {
            var below = cp.SignatureCount < m.Quorum ? $" (below the quorum of {m.Quorum}: give more --node-key or let the replicated nodes cosign)" : "";
            console.Error.WriteLine($"checkpoint of size {cp.Size} signed by {cp.SignatureCount} node(s){below}");
        }
        return refused ? ExitCodes.Invalid : ExitCodes.Ok;
    }

    private static HoldingView HoldingJson(Holding h) =>
        new(h.IdHex, Hex.Encode(h.CertificateId), h.Wh, LedgerEntry.OwnerId(h.Owner), h.Status.ToString().ToLowerInvariant(), h.CreatedBy, h.ConsumedBy);

    private sealed record HoldingView(
        [property: JsonPropertyName("holding")] string Holding,
        [property: JsonPropertyName("certificate")] string Certificate,
        [property: JsonPropertyName("wh")] ulong Wh,
        [property: JsonPropertyName("owner")] string Owner,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("createdBy")] long CreatedBy,
        [property: JsonPropertyName("consumedBy")] long? ConsumedBy);

    private static int NextPart(LedgerWriter writer, string meterId, long hourStart)
    {
        if (writer.Node is not { } node)
            return 0;
        var part = 0;
        while (node.HasCertificate(CertificateId.Compute(meterId, hourStart, hourStart + HourlyAggregation.Hour, part)))
            part++;
        return part;
    }

    private static byte[] CertificateOf(ParseResult parse, Option<string> option) => LedgerFiles.ParseId(parse.GetValue(option)!, "certificate id");

    private static byte[] HoldingOf(ParseResult parse, Option<string> option) => LedgerFiles.ParseId(parse.GetValue(option)!, "holding id");

    private static IReadOnlyDictionary<string, IssuerSigner> LoadIssuers(string path)
    {
        try
        {
            return IssuerKeysFile.Load(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new LedgerFileException($"issuers file {path}: {e.Message}", e);
        }
    }

    private static List<IssuerMember> ReadIssuerMembers(string path)
    {
        var byZone = LoadIssuers(path);
        try
        {
            return byZone.GroupBy(kv => kv.Value.IssuerId, StringComparer.Ordinal)
                .Select(g => new IssuerMember(g.Key, g.First().Value.Key.ExportSubjectPublicKeyInfo(), g.Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList()))
                .OrderBy(i => i.Id, StringComparer.Ordinal)
                .ToList();
        }
        finally
        {
            foreach (var signer in byZone.Values.DistinctBy(s => s.IssuerId))
                signer.Key.Dispose();
        }
    }

    internal static bool TryParseTime(string text, out long unixSeconds)
    {
        var ok = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t);
        unixSeconds = ok ? t.ToUnixTimeSeconds() : 0;
        return ok;
    }

    private static string Time(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    internal static int Refused(CliConsole console, Rejection why)
    {
        console.Error.WriteLine($"refused: {why.Code}: {why.Message}");
        return ExitCodes.Invalid;
    }

    internal static int Unusable(CliConsole console, string message)
    {
        console.Error.WriteLine($"error: {message}");
        return ExitCodes.Unusable;
    }

    private static int Run(CliConsole console, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (LedgerFileException e)
        {
            return Unusable(console, e.Message);
        }
    }

    private static async Task<int> RunAsync(CliConsole console, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (LedgerFileException e)
        {
            return Unusable(console, e.Message);
        }
    }
}
