using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatPortal.Core.Redis;

internal static class RedisJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T? Deserialize<T>(string? json) => string.IsNullOrEmpty(json) ? default : JsonSerializer.Deserialize<T>(json, Options);

    /// <summary>Failures that mean "Redis is not reachable right now", as opposed to bugs.</summary>
    public static bool IsUnavailable(Exception exception) =>
        exception is StackExchange.Redis.RedisException or TimeoutException or ObjectDisposedException or OperationCanceledException;
}
