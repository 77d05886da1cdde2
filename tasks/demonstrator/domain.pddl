; Kuka block stacking as task and motion planning, in the style of PDDLStream.
;
; A manipulation needs (not (canmove)): it happens at the conf the preceding move reached,
; which the kin stream chose. Moves and manipulations therefore alternate.
;
; Discrete objects: blocks and the floor region. Continuous objects (conf, pose, grasp, traj)
; are produced by streams (streams.py) that certify the static facts marked "stream" below:
; the search plans with optimistic values for them, then the streams bind real values.
(define (domain kuka-blocks)
  (:requirements :strips :typing :negative-preconditions)
  (:types
    surface conf pose grasp traj - object
    block region - surface)

  (:predicates
    ; fluents
    (on ?b - block ?s - surface)
    (clear ?s - surface)
    (handempty)
    (holding ?b - block)
    (canmove)
    (atconf ?q - conf)
    (atpose ?b - block ?p - pose)
    (atgrasp ?b - block ?g - grasp)
    ; stream: grasps of a block (top-down, yaw multiples of 90 degrees)
    (grasp ?b - block ?g - grasp)
    ; stream: stable poses of a block on a surface (centred on a block, free space on the floor)
    (placement ?b - block ?p - pose ?s - surface)
    ; stream: inverse kinematics, tool at the grasp of the block at its pose
    (kin ?b - block ?p - pose ?g - grasp ?q - conf)
    ; stream: collision-free joint-space motions
    (freemotion ?q1 - conf ?t - traj ?q2 - conf)
    (holdingmotion ?q1 - conf ?t - traj ?q2 - conf ?b - block ?g - grasp))

  (:action move_free
    :parameters (?q1 - conf ?q2 - conf ?t - traj)
    :precondition (and (handempty) (canmove) (atconf ?q1) (freemotion ?q1 ?t ?q2))
    :effect (and (atconf ?q2) (not (atconf ?q1)) (not (canmove))))

  (:action pick
    :parameters (?b - block ?p - pose ?g - grasp ?q - conf ?s - surface)
    :precondition (and (handempty) (not (canmove)) (atconf ?q) (atpose ?b ?p) (on ?b ?s) (clear ?b)
                       (grasp ?b ?g) (kin ?b ?p ?g ?q))
    :effect (and (holding ?b) (atgrasp ?b ?g) (clear ?s) (canmove)
                 (not (handempty)) (not (atpose ?b ?p)) (not (on ?b ?s)) (not (clear ?b))))

  (:action move_holding
    :parameters (?q1 - conf ?q2 - conf ?b - block ?g - grasp ?t - traj)
    :precondition (and (holding ?b) (atgrasp ?b ?g) (canmove) (atconf ?q1)
                       (holdingmotion ?q1 ?t ?q2 ?b ?g))
    :effect (and (atconf ?q2) (not (atconf ?q1)) (not (canmove))))

  ; Stacking takes the support's clear fact; the floor is never used up, so it has its own action.
  (:action stack
    :parameters (?b - block ?p - pose ?g - grasp ?q - conf ?s - block)
    :precondition (and (holding ?b) (atgrasp ?b ?g) (not (canmove)) (atconf ?q) (clear ?s)
                       (placement ?b ?p ?s) (kin ?b ?p ?g ?q))
    :effect (and (handempty) (on ?b ?s) (atpose ?b ?p) (clear ?b) (canmove)
                 (not (holding ?b)) (not (atgrasp ?b ?g)) (not (clear ?s))))

  (:action put_down
    :parameters (?b - block ?p - pose ?g - grasp ?q - conf ?r - region)
    :precondition (and (holding ?b) (atgrasp ?b ?g) (not (canmove)) (atconf ?q)
                       (placement ?b ?p ?r) (kin ?b ?p ?g ?q))
    :effect (and (handempty) (on ?b ?r) (atpose ?b ?p) (clear ?b) (canmove)
                 (not (holding ?b)) (not (atgrasp ?b ?g)))))
