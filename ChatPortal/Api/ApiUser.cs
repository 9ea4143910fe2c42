using ChatPortal.Identity;

namespace ChatPortal.Api;

internal static class ApiUser
{
    /// <summary>The caller's user id; the identity middleware gives every API caller one.</summary>
    public static string Id(HttpContext context) =>
        context.User.GetUserId() ?? throw new InvalidOperationException("The identity middleware did not run.");

    public static IResult NotFound(string what) =>
        TypedResults.Problem(detail: $"{what} does not exist or is not yours.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
}
