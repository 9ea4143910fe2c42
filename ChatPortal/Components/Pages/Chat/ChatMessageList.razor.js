// Keeps a scrolling thread pinned to its end while the reader is there; leaves it alone once they scroll up.
export function autoScroll(element) {
    if (!element || element.__cpAutoScroll) {
        return;
    }

    let pinned = true;
    element.addEventListener('scroll', () => {
        pinned = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
    }, { passive: true });

    // Only when the content grew: a button's ripple (a span MudBlazor adds on pointer down) must not move the thread
    // under the pointer, or the mouse up lands elsewhere and the click is lost.
    let height = element.scrollHeight;
    const observer = new MutationObserver(() => {
        const grew = element.scrollHeight > height;
        height = element.scrollHeight;
        if (pinned && grew) {
            element.scrollTop = element.scrollHeight;
        }
    });
    observer.observe(element, { childList: true, subtree: true, characterData: true });
    element.__cpAutoScroll = observer;
    element.scrollTop = element.scrollHeight;
}
