// The desk's one script (no inline scripts: the Content-Security-Policy forbids them).
"use strict";
