/* collab/collab.h - includes every public libcollab header, bottom layer
 * first (DESIGN.md "The library, bottom to top"). */
#ifndef COLLAB_COLLAB_H
#define COLLAB_COLLAB_H

/* bytes */
#include "collab/common.h"
#include "collab/buf.h"
#include "collab/base64.h"
#include "collab/utf8.h"
#include "collab/rand.h"
#include "collab/uuid.h"
#include "collab/json.h"
/* protocol */
#include "collab/ws.h"
#include "collab/http.h"
#include "collab/proto.h"
#include "collab/jwt.h"
/* runtime */
#include "collab/loop.h"
#include "collab/tls.h"
#include "collab/wsconn.h"
#include "collab/client.h"

#endif
