/* wmclose WINDOW-ID: ask an X11 window to close the way a window manager's
 * close button does (a WM_DELETE_WINDOW client message). The end-to-end
 * test builds it with gcc, because Xvfb runs no window manager and
 * xdotool 3.2016 has no such command. */
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	if (argc != 2) { fprintf(stderr, "usage: wmclose WINDOW-ID\n"); return 2; }
	Display *d = XOpenDisplay(NULL);
	if (!d) { fprintf(stderr, "wmclose: cannot open display\n"); return 1; }
	Window w = (Window)strtoul(argv[1], NULL, 0);
	XEvent ev = {0};
	ev.xclient.type = ClientMessage;
	ev.xclient.window = w;
	ev.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
	ev.xclient.format = 32;
	ev.xclient.data.l[0] = XInternAtom(d, "WM_DELETE_WINDOW", False);
	ev.xclient.data.l[1] = CurrentTime;
	XSendEvent(d, w, False, NoEventMask, &ev);
	XFlush(d);
	XCloseDisplay(d);
	return 0;
}
