// AgentRecord -> the API's AgentInfo.
#pragma once

#include "agentos.pb.h"
#include "server/agent_record.h"

namespace agentos {

void fill_agent_info(const AgentRecord& r, v1::AgentInfo* out);

}  // namespace agentos
