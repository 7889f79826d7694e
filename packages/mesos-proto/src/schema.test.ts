import { describe, expect, it } from 'vitest';
import { messageInfo } from './schema.js';
import { mesosRoot } from './index.js';

// Field numbers, labels and enum numbers as the wire reference states them (checked there
// against a real master and agent). The golden fixtures share our .proto files, so this table
// is what catches a wrong number in them. Notation: name=N, `!` required, `*` repeated, `{}` map.
const FIELDS = `
mesos.v1.scheduler.Call: framework_id=1 type=2 subscribe=3 accept=4 decline=5 kill=6 shutdown=7 acknowledge=8 reconcile=9 message=10 request=11 accept_inverse_offers=13 decline_inverse_offers=14 revive=15 suppress=16 acknowledge_operation_status=17 reconcile_operations=18 update_framework=19
mesos.v1.scheduler.Call.Subscribe: framework_info=1! suppressed_roles=2* offer_constraints=3
mesos.v1.scheduler.Call.UpdateFramework: framework_info=1! suppressed_roles=2* offer_constraints=3
mesos.v1.scheduler.Call.Accept: offer_ids=1* operations=2* filters=3
mesos.v1.scheduler.Call.Decline: offer_ids=1* filters=2
mesos.v1.scheduler.Call.Revive: roles=1*
mesos.v1.scheduler.Call.Suppress: roles=1*
mesos.v1.scheduler.Call.Kill: task_id=1! agent_id=2 kill_policy=3
mesos.v1.scheduler.Call.Shutdown: executor_id=1! agent_id=2!
mesos.v1.scheduler.Call.Acknowledge: agent_id=1! task_id=2! uuid=3!
mesos.v1.scheduler.Call.AcknowledgeOperationStatus: agent_id=1 resource_provider_id=2 uuid=3! operation_id=4!
mesos.v1.scheduler.Call.Reconcile: tasks=1*
mesos.v1.scheduler.Call.Reconcile.Task: task_id=1! agent_id=2
mesos.v1.scheduler.Call.ReconcileOperations.Operation: operation_id=1! agent_id=2 resource_provider_id=3
mesos.v1.scheduler.Call.Message: agent_id=1! executor_id=2! data=3!
mesos.v1.scheduler.Call.Request: requests=1*
mesos.v1.Request: agent_id=1 resources=2*
mesos.v1.scheduler.OfferConstraints: role_constraints=1{}
mesos.v1.scheduler.OfferConstraints.RoleConstraints: groups=1*
mesos.v1.scheduler.OfferConstraints.RoleConstraints.Group: attribute_constraints=1*
mesos.v1.scheduler.AttributeConstraint: selector=1 predicate=2
mesos.v1.scheduler.AttributeConstraint.Selector: pseudoattribute_type=1 attribute_name=2
mesos.v1.scheduler.AttributeConstraint.Predicate: exists=1 not_exists=2 text_equals=3 text_not_equals=4 text_matches=5 text_not_matches=6
mesos.v1.scheduler.AttributeConstraint.Predicate.TextEquals: value=1
mesos.v1.scheduler.AttributeConstraint.Predicate.TextMatches: regex=1
mesos.v1.scheduler.Event: type=1 subscribed=2 offers=3 rescind=4 update=5 message=6 failure=7 error=8 inverse_offers=9 rescind_inverse_offer=10 update_operation_status=11
mesos.v1.scheduler.Event.Subscribed: framework_id=1! heartbeat_interval_seconds=2 master_info=3
mesos.v1.scheduler.Event.Offers: offers=1*
mesos.v1.scheduler.Event.Rescind: offer_id=1!
mesos.v1.scheduler.Event.Update: status=1!
mesos.v1.scheduler.Event.Message: agent_id=1! executor_id=2! data=3!
mesos.v1.scheduler.Event.Failure: agent_id=1 executor_id=2 status=3
mesos.v1.scheduler.Event.Error: message=1!
mesos.v1.scheduler.Event.UpdateOperationStatus: status=1!
mesos.v1.scheduler.Event.InverseOffers: inverse_offers=1*
mesos.v1.scheduler.Event.RescindInverseOffer: inverse_offer_id=1!
mesos.v1.executor.Call: executor_id=1! framework_id=2! type=3 subscribe=4 update=5 message=6
mesos.v1.executor.Call.Subscribe: unacknowledged_tasks=1* unacknowledged_updates=2*
mesos.v1.executor.Call.Update: status=1!
mesos.v1.executor.Call.Message: data=2!
mesos.v1.executor.Event: type=1 subscribed=2 acknowledged=3 launch=4 kill=5 message=6 error=7 launch_group=8
mesos.v1.executor.Event.Subscribed: executor_info=1! framework_info=2! agent_info=3! container_id=4
mesos.v1.executor.Event.Launch: task=1!
mesos.v1.executor.Event.LaunchGroup: task_group=1!
mesos.v1.executor.Event.Kill: task_id=1! kill_policy=2
mesos.v1.executor.Event.Acknowledged: task_id=1! uuid=2!
mesos.v1.executor.Event.Message: data=1!
mesos.v1.executor.Event.Error: message=1!
mesos.v1.FrameworkID: value=1!
mesos.v1.ContainerID: value=1! parent=2
mesos.v1.TimeInfo: nanoseconds=1!
mesos.v1.DurationInfo: nanoseconds=1!
mesos.v1.Labels: labels=1*
mesos.v1.Label: key=1! value=2
mesos.v1.Parameter: key=1! value=2!
mesos.v1.Parameters: parameter=1*
mesos.v1.Credential: principal=1! secret=2
mesos.v1.FrameworkInfo: user=1! name=2! id=3 failover_timeout=4 checkpoint=5 role=6 roles=12* hostname=7 principal=8 webui_url=9 capabilities=10* labels=11 offer_filters=13{}
mesos.v1.FrameworkInfo.Capability: type=1
mesos.v1.MasterInfo: id=1! ip=2! port=3! pid=4 hostname=5 version=6 address=7 domain=8 capabilities=9*
mesos.v1.Address: hostname=1 ip=2 port=3!
mesos.v1.AgentInfo: hostname=1! port=8 resources=3* attributes=5* id=6 domain=10
mesos.v1.DomainInfo: fault_domain=1
mesos.v1.DomainInfo.FaultDomain: region=1! zone=2!
mesos.v1.DomainInfo.FaultDomain.RegionInfo: name=1!
mesos.v1.Offer: id=1! framework_id=2! agent_id=3! hostname=4! url=8 domain=11 resources=5* attributes=7* executor_ids=6* unavailability=9 allocation_info=10
mesos.v1.Offer.Operation: type=1 id=12 launch=2 launch_group=7 reserve=3 unreserve=4 create=5 destroy=6 grow_volume=13 shrink_volume=14 create_disk=15 destroy_disk=16
mesos.v1.Offer.Operation.Launch: task_infos=1*
mesos.v1.Offer.Operation.LaunchGroup: executor=1! task_group=2!
mesos.v1.Offer.Operation.Reserve: resources=1* source=2*
mesos.v1.Offer.Operation.Unreserve: resources=1*
mesos.v1.Offer.Operation.Create: volumes=1*
mesos.v1.Offer.Operation.Destroy: volumes=1*
mesos.v1.TaskGroupInfo: tasks=1*
mesos.v1.Filters: refuse_seconds=1
mesos.v1.Value: type=1! scalar=2 ranges=3 set=4 text=5
mesos.v1.Value.Scalar: value=1!
mesos.v1.Value.Range: begin=1! end=2!
mesos.v1.Value.Ranges: range=1*
mesos.v1.Value.Set: item=1*
mesos.v1.Value.Text: value=1!
mesos.v1.Attribute: name=1! type=2! scalar=3 ranges=4 text=5 set=6
mesos.v1.Resource: provider_id=12 name=1! type=2! scalar=3 ranges=4 set=5 role=6 allocation_info=11 reservation=8 reservations=13* disk=7 revocable=9 shared=10
mesos.v1.Resource.AllocationInfo: role=1
mesos.v1.Resource.ReservationInfo: type=4 role=3 principal=1 labels=2
mesos.v1.Resource.DiskInfo: persistence=1 volume=2 source=3
mesos.v1.Resource.DiskInfo.Persistence: id=1! principal=2
mesos.v1.Resource.DiskInfo.Source: type=1! path=2 mount=3
mesos.v1.Resource.DiskInfo.Source.Path: root=1
mesos.v1.TaskInfo: name=1! task_id=2! agent_id=3! resources=4* executor=5 command=7 container=9 health_check=8 check=13 kill_policy=12 data=6 labels=10 discovery=11 max_completion_time=14 limits=15{}
mesos.v1.KillPolicy: grace_period=1
mesos.v1.ExecutorInfo: type=15 executor_id=1! framework_id=8 command=7 container=11 resources=5* name=9 source=10 data=4 discovery=12 shutdown_grace_period=13 labels=14
mesos.v1.CommandInfo: uris=1* environment=2 shell=6 value=3 arguments=7* user=5
mesos.v1.CommandInfo.URI: value=1! executable=2 extract=3 cache=4 output_file=5
mesos.v1.Environment: variables=1*
mesos.v1.Environment.Variable: name=1! type=3 value=2 secret=4
mesos.v1.ContainerInfo: type=1! volumes=2* hostname=4 docker=3 mesos=5 network_infos=7* linux_info=8 rlimit_info=9 tty_info=10
mesos.v1.ContainerInfo.DockerInfo: image=1! network=2 port_mappings=3* privileged=4 parameters=5* force_pull_image=6
mesos.v1.ContainerInfo.DockerInfo.PortMapping: host_port=1! container_port=2! protocol=3
mesos.v1.ContainerInfo.MesosInfo: image=1
mesos.v1.Image: type=1! appc=2 docker=3 cached=4
mesos.v1.Image.Docker: name=1! credential=2 config=3
mesos.v1.Volume: container_path=1! host_path=2 mode=3! image=4 source=5
mesos.v1.NetworkInfo: name=6 ip_addresses=5*
mesos.v1.DiscoveryInfo: visibility=1! name=2 environment=3 location=4 version=5 ports=6 labels=7
mesos.v1.Ports: ports=1*
mesos.v1.Port: number=1! name=2 protocol=3 visibility=4 labels=5
mesos.v1.TaskStatus: task_id=1! state=2! message=4 source=9 reason=10 data=3 agent_id=5 executor_id=7 timestamp=6 uuid=11 healthy=8 check_status=15 labels=12 container_status=13 unreachable_time=14 limitation=16
mesos.v1.OperationStatus: operation_id=1 state=2! message=3 uuid=5 agent_id=6
`;

const ENUMS = `
mesos.v1.scheduler.Call.Type: UNKNOWN=0 SUBSCRIBE=1 TEARDOWN=2 ACCEPT=3 DECLINE=4 REVIVE=5 KILL=6 SHUTDOWN=7 ACKNOWLEDGE=8 RECONCILE=9 MESSAGE=10 REQUEST=11 SUPPRESS=12 ACCEPT_INVERSE_OFFERS=13 DECLINE_INVERSE_OFFERS=14 ACKNOWLEDGE_OPERATION_STATUS=15 RECONCILE_OPERATIONS=16 UPDATE_FRAMEWORK=17
mesos.v1.scheduler.Event.Type: UNKNOWN=0 SUBSCRIBED=1 OFFERS=2 RESCIND=3 UPDATE=4 MESSAGE=5 FAILURE=6 ERROR=7 HEARTBEAT=8 INVERSE_OFFERS=9 RESCIND_INVERSE_OFFER=10 UPDATE_OPERATION_STATUS=11
mesos.v1.scheduler.AttributeConstraint.Selector.PseudoattributeType: UNKNOWN=0 HOSTNAME=1 REGION=2 ZONE=3
mesos.v1.executor.Call.Type: UNKNOWN=0 SUBSCRIBE=1 UPDATE=2 MESSAGE=3 HEARTBEAT=4
mesos.v1.executor.Event.Type: UNKNOWN=0 SUBSCRIBED=1 LAUNCH=2 KILL=3 ACKNOWLEDGED=4 MESSAGE=5 ERROR=6 SHUTDOWN=7 LAUNCH_GROUP=8 HEARTBEAT=9
mesos.v1.FrameworkInfo.Capability.Type: UNKNOWN=0 REVOCABLE_RESOURCES=1 TASK_KILLING_STATE=2 GPU_RESOURCES=3 SHARED_RESOURCES=4 PARTITION_AWARE=5 MULTI_ROLE=6 RESERVATION_REFINEMENT=7 REGION_AWARE=8
mesos.v1.Offer.Operation.Type: UNKNOWN=0 LAUNCH=1 RESERVE=2 UNRESERVE=3 CREATE=4 DESTROY=5 LAUNCH_GROUP=6 GROW_VOLUME=11 SHRINK_VOLUME=12 CREATE_DISK=13 DESTROY_DISK=14
mesos.v1.Value.Type: SCALAR=0 RANGES=1 SET=2 TEXT=3
mesos.v1.Resource.ReservationInfo.Type: UNKNOWN=0 STATIC=1 DYNAMIC=2
mesos.v1.Resource.DiskInfo.Source.Type: UNKNOWN=0 PATH=1 MOUNT=2 BLOCK=3 RAW=4
mesos.v1.ExecutorInfo.Type: UNKNOWN=0 DEFAULT=1 CUSTOM=2
mesos.v1.Environment.Variable.Type: UNKNOWN=0 VALUE=1 SECRET=2
mesos.v1.ContainerInfo.Type: DOCKER=1 MESOS=2
mesos.v1.ContainerInfo.DockerInfo.Network: HOST=1 BRIDGE=2 NONE=3 USER=4
mesos.v1.Image.Type: APPC=1 DOCKER=2
mesos.v1.Volume.Mode: RW=1 RO=2
mesos.v1.DiscoveryInfo.Visibility: FRAMEWORK=0 CLUSTER=1 EXTERNAL=2
mesos.v1.TaskState: TASK_STARTING=0 TASK_RUNNING=1 TASK_FINISHED=2 TASK_FAILED=3 TASK_KILLED=4 TASK_LOST=5 TASK_STAGING=6 TASK_ERROR=7 TASK_KILLING=8 TASK_DROPPED=9 TASK_UNREACHABLE=10 TASK_GONE=11 TASK_GONE_BY_OPERATOR=12 TASK_UNKNOWN=13
mesos.v1.TaskStatus.Source: SOURCE_MASTER=0 SOURCE_AGENT=1 SOURCE_EXECUTOR=2
`;

// The reasons the reference names (all of 0–34 exist; the others are checked for being there).
const REASONS = `REASON_COMMAND_EXECUTOR_FAILED=0 REASON_EXECUTOR_TERMINATED=1 REASON_EXECUTOR_REGISTRATION_TIMEOUT=23 REASON_EXECUTOR_REREGISTRATION_TIMEOUT=24 REASON_FRAMEWORK_REMOVED=3 REASON_INVALID_OFFERS=6 REASON_RECONCILIATION=9 REASON_AGENT_DISCONNECTED=10 REASON_AGENT_REMOVED=11 REASON_AGENT_RESTARTED=12 REASON_TASK_INVALID=14 REASON_TASK_UNAUTHORIZED=15 REASON_TASK_UNKNOWN=16 REASON_CONTAINER_LIMITATION_MEMORY=8 REASON_CONTAINER_LIMITATION=19 REASON_CONTAINER_LAUNCH_FAILED=21 REASON_TASK_CHECK_STATUS_UPDATED=28 REASON_TASK_HEALTH_CHECK_STATUS_UPDATED=29 REASON_TASK_KILLED_DURING_LAUNCH=30 REASON_MAX_COMPLETION_TIME_REACHED=33 REASON_AGENT_DRAINING=34`;

// [d=x] defaults the reference lists; Mesos relies on them, so they must be declared (proto2).
const DEFAULTS: [string, string, unknown, boolean][] = [
  ['mesos.v1.CommandInfo', 'shell', true, false],
  ['mesos.v1.CommandInfo.URI', 'extract', true, false],
  ['mesos.v1.Filters', 'refuse_seconds', 5, false],
  ['mesos.v1.FrameworkInfo', 'role', '*', true],
  ['mesos.v1.FrameworkInfo', 'failover_timeout', 0, false],
  ['mesos.v1.FrameworkInfo', 'checkpoint', false, false],
  ['mesos.v1.Resource', 'role', '*', true],
  ['mesos.v1.AgentInfo', 'port', 5051, false],
  ['mesos.v1.Environment.Variable', 'type', 'VALUE', false],
  ['mesos.v1.ContainerInfo.DockerInfo', 'network', 'HOST', false],
  ['mesos.v1.Image', 'cached', true, false],
];

function table(text: string): [string, string[]][] {
  return text.trim().split('\n').map((line) => {
    const [name, rest] = line.split(': ');
    return [name ?? '', (rest ?? '').split(' ')];
  });
}

describe('schema against the wire reference', () => {
  for (const [typeName, specs] of table(FIELDS)) {
    it(`${typeName} has the reference's field numbers and labels`, () => {
      const info = messageInfo(typeName);
      for (const spec of specs) {
        const [, name = '', num = '', mark = ''] = /^(\w+)=(\d+)([!*]|\{\})?$/.exec(spec) ?? [];
        const label = mark === '!' ? 'required' : mark === '*' ? 'repeated' : mark === '{}' ? 'map' : 'optional';
        expect(info.type.fields[name]?.id, `${typeName}.${name}`).toBe(Number(num));
        expect(info.fields.get(name)?.label, `${typeName}.${name}`).toBe(label);
      }
    });
  }

  for (const [enumName, specs] of table(ENUMS)) {
    it(`${enumName} has exactly the reference's values`, () => {
      const expected = Object.fromEntries(specs.map((s) => [s.split('=')[0], Number(s.split('=')[1])]));
      expect(mesosRoot().lookupEnum(enumName).values).toEqual(expected);
    });
  }

  it('mesos.v1.TaskStatus.Reason has the reference values and all of 0–34', () => {
    const values = mesosRoot().lookupEnum('mesos.v1.TaskStatus.Reason').values;
    for (const spec of REASONS.split(' ')) expect(values[spec.split('=')[0] ?? ''], spec).toBe(Number(spec.split('=')[1]));
    expect(new Set(Object.values(values))).toEqual(new Set(Array.from({ length: 35 }, (_, i) => i)));
  });

  it.each(DEFAULTS)('%s.%s declares the proto2 default %j (deprecated: %s)', (typeName, field, value, deprecated) => {
    const info = messageInfo(typeName).fields.get(field);
    expect(info?.explicitDefault).toEqual(value);
    expect(info?.deprecated).toBe(deprecated);
  });

  it('refuses a type the bundle does not have', () => {
    expect(() => messageInfo('mesos.v1.Nope')).toThrow(/no message type 'mesos.v1.Nope'/);
  });
});
