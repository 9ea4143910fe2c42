using System.Net;
using System.Net.Sockets;

namespace ChatPortal.Testing;

public static class FreePort
{
    /// <summary>Below the kernel's ephemeral range (32768 and up here): <see cref="Next"/> and outgoing connections never take these.</summary>
    private const int BlockRangeStart = 20000;
    private const int BlockRangeEnd = 32000;

    /// <summary>A TCP port free on 127.0.0.1 right now.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// The first of <paramref name="count"/> consecutive ports free on 127.0.0.1 right now (a cluster's nodes take a
    /// base port and the ones after it). Taken below the ephemeral range, where the ports that <see cref="Next"/> hands
    /// out and the local ends of outgoing connections come from, so none of the block is handed to them meanwhile.
    /// </summary>
    public static int NextBlock(int count)
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var first = Random.Shared.Next(BlockRangeStart, BlockRangeEnd - count);
            if (Enumerable.Range(first, count).All(IsFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports between {BlockRangeStart} and {BlockRangeEnd}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
