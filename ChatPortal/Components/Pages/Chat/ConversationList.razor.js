// Loads the next page of the conversation list when its end scrolls into view (and again while it stays in view,
// as on a tall screen where one page does not fill the list). The "Show more" button does the same by click or key.
export function watchEnd(scroller, end, list) {
    let visible = false;
    let busy = false;
    let stopped = false;

    const load = async () => {
        if (busy) {
            return;
        }

        busy = true;
        try {
            while (visible && !stopped && await list.invokeMethodAsync('LoadMoreAsync')) {
                // Let the new entries lay out and the observer report whether the end is still in view.
                await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 50)));
            }
        } catch {
            // The circuit went away: nothing to load into.
        } finally {
            busy = false;
        }
    };

    const observer = new IntersectionObserver(entries => {
        visible = entries[entries.length - 1].isIntersecting;
        if (visible) {
            load();
        }
    }, { root: scroller, rootMargin: '0px 0px 160px 0px' });
    observer.observe(end);

    return {
        dispose() {
            stopped = true;
            observer.disconnect();
        }
    };
}
