// TransformState: what a connection keeps for the transformations of the request in progress —
// the rules chosen from its head, the transformed request and the buffered response. Allocated
// on a connection's first transformed request and reused (clear()) after that.
#pragma once

#include "filters/route_transformations.h"

namespace portico::gateway {

struct TransformState {
  TransformState() { request.metadata = response.metadata = &metadata; }
  TransformState(const TransformState&) = delete;  // the messages point at `metadata`
  TransformState& operator=(const TransformState&) = delete;

  filters::RouteTransformations::Selection selection;
  filters::Message request;   ///< the request as it goes upstream (head; body once buffered)
  filters::Message response;  ///< the buffered response, when a response transformation applies
  const filters::Transformation* responseList[2] = {};
  size_t responseCount = 0;
  bool pathChanged = false;       ///< a template set :path: no route rewrite applies
  bool authorityChanged = false;  ///< a template set :authority: it is the upstream Host
  bool bodyBuffered = false;      ///< request.body is the whole (maybe rewritten) body
  /// dynamicMetadataValues set by the request's transformations (request and response side),
  /// for the access log. Cleared when the next request begins.
  filters::DynamicMetadata metadata;

  void clear() {
    selection = {};
    request.headers.clear();
    request.body.clear();
    request.bodyChanged = false;
    response.headers.clear();
    response.body.clear();
    response.bodyChanged = false;
    responseCount = 0;
    pathChanged = authorityChanged = bodyBuffered = false;
    metadata.clear();
  }
};

}  // namespace portico::gateway
