namespace ChatPortal.Security;

/// <summary>
/// The client's address as rate limits and logs see it: the connection's address after
/// <c>UseForwardedHeaders</c>, so behind a trusted balancer it is the browser's, not the balancer's.
/// </summary>
public static class ClientAddress
{
    public static string Of(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    }
}
