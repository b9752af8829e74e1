namespace GreenTrace.Cli.Demo;

/// <summary>The files a demo leaves in its data directory, which `greentrace api --demo DIR` serves.</summary>
public static class DemoLayout
{
    public const string Ledger = "ledger.db";
    public const string Archive = "archive.db";
    public const string Genesis = "genesis.json";
    public const string NodeKey = "node.key";
    public const string PlantOwnerKey = "plant-owner.key";
    public const string BuyerKey = "buyer.key";
}
