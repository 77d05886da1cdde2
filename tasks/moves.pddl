; The task layer's domain: which block goes where, in what order. Both planners bind each move
; of a plan of this domain with motion: the demonstrator with its grasp, placement, IK and
; motion streams (tasks/demonstrator), the Diffuser with its move model (planner/).
;
; Surfaces are blocks and regions. The floor is a region that never fills up while the scene
; leaves room on it (roomy); a reference arrangement's floor spot is a region for one block, its
; own (spotof). A block lying where a spot is rests on that spot's region, so a taken spot must
; first be cleared. A block resting askew on another is on it but not level: where the goal wants
; it there, it is put down again squarely (straighten), once nothing lies on it.
(define (domain kuka-blocks)
  (:requirements :strips :typing :negative-preconditions :equality)
  (:types surface - object
          block region - surface)
  (:constants floor - region)
  (:predicates
    (on ?b - block ?s - surface)
    (clear ?s - surface)
    (spotof ?b - block ?r - region)
    (level ?b - block)
    (roomy))

  (:action stack
    :parameters (?b - block ?from - surface ?onto - block)
    :precondition (and (on ?b ?from) (clear ?b) (clear ?onto) (not (= ?b ?onto)))
    :effect (and (on ?b ?onto) (not (on ?b ?from)) (clear ?from) (not (clear ?onto)) (level ?b)))

  (:action to_spot
    :parameters (?b - block ?from - surface ?r - region)
    :precondition (and (on ?b ?from) (clear ?b) (clear ?r) (spotof ?b ?r))
    :effect (and (on ?b ?r) (not (on ?b ?from)) (clear ?from) (not (clear ?r)) (level ?b)))

  (:action to_floor
    :parameters (?b - block ?from - surface)
    :precondition (and (on ?b ?from) (clear ?b) (not (= ?from floor)) (roomy))
    :effect (and (on ?b floor) (not (on ?b ?from)) (clear ?from) (level ?b)))

  (:action straighten
    :parameters (?b - block ?s - block)
    :precondition (and (on ?b ?s) (clear ?b) (not (level ?b)))
    :effect (level ?b)))
