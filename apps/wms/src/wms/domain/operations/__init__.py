"""Operations: depots, fleet, pickups, scheduling, route planning, dispatch and tracking."""
