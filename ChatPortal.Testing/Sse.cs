using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace ChatPortal.Testing;

/// <summary>One server-sent event: its name and JSON data.</summary>
public sealed record SseEvent(string Name, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;

    public string? Get(string property) => Json.TryGetProperty(property, out var value) ? value.GetString() : null;
}

public static class Sse
{
    /// <summary>Reads events until the stream ends or the token fires.</summary>
    public static async IAsyncEnumerable<SseEvent> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? name = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null || data.Length > 0)
                {
                    yield return new SseEvent(name ?? "message", data.ToString());
                }

                name = null;
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length > 0)
                {
                    data.Append('\n');
                }

                data.Append(line[5..].TrimStart());
            }
        }
    }
}
