using ChatPortal.Core.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace ChatPortal.Hosting;

/// <summary>The configured <c>NodeId</c>, else host name + port, readable on the dashboard.</summary>
internal static class NodeIdResolver
{
    public static string Resolve(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ChatPortalOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(options.NodeId))
        {
            return options.NodeId;
        }

        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var configuration = services.GetRequiredService<IConfiguration>();
        var url = addresses?.FirstOrDefault()
            ?? configuration["urls"]?.Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        var port = url is not null && Uri.TryCreate(url.Replace("*", "localhost").Replace("+", "localhost"), UriKind.Absolute, out var uri)
            ? uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : configuration["HTTP_PORTS"]?.Split(';').FirstOrDefault() ?? "5000";
        return $"{Environment.MachineName.ToLowerInvariant()}:{port}";
    }
}
