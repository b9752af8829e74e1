namespace GreenTrace.Broker.Mosquitto;

/// <summary>Files only their owner may read: keys, password hashes, credentials.</summary>
internal static class PrivateFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Writes through a fresh temporary file that is then renamed over the target: the mode only
    /// applies to a file being created, and an overwritten file keeps whatever mode it had.
    /// </summary>
    public static void WriteAllText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var temp = full + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnly;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }

    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, OwnerOnly | UnixFileMode.UserExecute);
        // CreateDirectory leaves an existing directory's mode as it was.
        File.SetUnixFileMode(path, OwnerOnly | UnixFileMode.UserExecute);
    }
}
