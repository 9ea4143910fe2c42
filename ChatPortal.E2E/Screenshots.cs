using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>Key screens as images in artifacts/screenshots; the ones the README shows are copied to docs/images.</summary>
public static class Screenshots
{
    public static string Directory => Path.Combine(RepositoryPaths.ArtifactsDirectory, "screenshots");

    /// <summary>The whole page, animations stopped, no hover tooltip.</summary>
    /// <param name="growToContent">
    /// Make the window as tall as the content of the page's scrolling panel for the picture (a full-page screenshot
    /// stops at the window when the document itself does not scroll, as in the dashboard).
    /// </param>
    public static async Task<string> SaveAsync(IPage page, string name, bool growToContent = false)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name);
        await page.Mouse.MoveAsync(1, 1);

        // A button keeps its focus ring after the click that led here (the theme toggle): not part of the screen. Focus
        // inside an open menu or dialog stays, it is what the keyboard acts on next.
        await page.EvaluateAsync("""
            () => {
                const focused = document.activeElement;
                if (focused instanceof HTMLButtonElement && !focused.closest('[role=menu], [role=dialog], .mud-popover')) focused.blur();
            }
            """);
        var size = page.ViewportSize;
        var hidden = growToContent && size is not null ? await page.EvaluateAsync<int>(HiddenHeight) : 0;
        if (hidden > 0)
        {
            await page.SetViewportSizeAsync(size!.Width, size.Height + hidden);
        }

        await page.EvaluateAsync(StopAnimations);
        try
        {
            // A tooltip still open from the last click or focus (they close after a delay) is left out of the picture.
            await page.ScreenshotAsync(new()
            {
                Path = path,
                FullPage = true,
                Animations = ScreenshotAnimations.Allow, // stopped above, all but the scroll-driven ones
                Style = ".mud-popover-open.mud-tooltip { visibility: hidden !important; }",
            });
        }
        finally
        {
            await page.EvaluateAsync(ResumeAnimations);
            if (hidden > 0)
            {
                await page.SetViewportSizeAsync(size!.Width, size.Height);
            }
        }

        return path;
    }

    /// <summary>
    /// What Playwright's "animations disabled" does (finite ones to their end, endless ones stopped), except for
    /// scroll-driven animations: they are a state of the page (a wide table's fade follows its scroll), not motion,
    /// and finishing them would show a table scrolled to its end.
    /// </summary>
    private const string StopAnimations = """
        () => {
            window.__cpStopped = [];
            for (const animation of document.getAnimations()) {
                if (!animation.effect || (typeof ScrollTimeline !== 'undefined' && animation.timeline instanceof ScrollTimeline)) continue;
                if (Number.isFinite(animation.effect.getComputedTiming().endTime)) {
                    animation.finish();
                } else {
                    animation.cancel();
                    window.__cpStopped.push(animation);
                }
            }
        }
        """;

    private const string ResumeAnimations = "() => { for (const animation of window.__cpStopped ?? []) animation.play(); window.__cpStopped = []; }";

    /// <summary>How much of the tallest scrolling panel is out of view.</summary>
    private const string HiddenHeight = """
        () => Math.max(0, ...[...document.querySelectorAll('*')]
            .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowY))
            .map(e => Math.ceil(e.scrollHeight - e.clientHeight)))
        """;

    /// <summary>Copies a screenshot to docs/images (committed: the README shows it).</summary>
    public static void Publish(string path, string docsName)
    {
        var docs = Path.Combine(RepositoryPaths.Root, "docs", "images");
        System.IO.Directory.CreateDirectory(docs);
        File.Copy(path, Path.Combine(docs, docsName), overwrite: true);
    }
}
